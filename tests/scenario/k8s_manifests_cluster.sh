#!/bin/bash
# k8s_manifests_cluster.sh - the port of k8s_manifests.sh to the real test
# cluster (tests/cluster; every assertion kept): the shipped k8s/ manifests
# render, they are valid Kubernetes objects, the CronJob is what
# docs/operations.md says, the ClusterRole is exactly what verify needs
# (each rule removed in turn on the real API server's RBAC, with the failure
# it causes), and the CronJob's own command line runs against the cluster.
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/../cluster/testlib.sh"
set -u

K8S="$RV_TOP/k8s"
work=$(mktemp -d "${TMPDIR:-/tmp}/rv-k8s-test.XXXXXX")
receiver_pid=
cleanup() {
	[ -n "$receiver_pid" ] && kill "$receiver_pid" 2>/dev/null
	cluster_stop
	rm -rf "$work"
}
trap cleanup EXIT

# YAML stream -> {"items": [...]} (python3-yaml, deps/k8s.apt)
to_json() {
	python3 -c 'import sys, yaml, json
print(json.dumps({"items": [d for d in yaml.safe_load_all(sys.stdin) if d]}))'
}
# JSON items -> a YAML stream kubectl apply takes
to_yaml() {
	python3 -c 'import sys, yaml, json
print(yaml.safe_dump_all(json.load(sys.stdin)["items"], sort_keys=False), end="")'
}
# render an overlay of the base with one component
render_with() {
	local d
	d=$(mktemp -d "$work/overlay.XXXXXX")
	printf 'resources: [%s]\ncomponents: [%s/components/%s]\n' \
		"$(realpath --relative-to="$d" "$K8S")" "$(realpath --relative-to="$d" "$K8S")" "$1" \
		> "$d/kustomization.yaml"
	kubectl kustomize "$d"
}

# --- 1. the base renders ----------------------------------------------------------
check "kubectl kustomize k8s renders" sh -c 'kubectl kustomize "$1" > "$2"' _ "$K8S" "$work/render.yaml"
to_json < "$work/render.yaml" > "$work/render.json"
R() { jq -r "$@" "$work/render.json"; }
is "$(R '[.items[].kind] | sort | join(",")')" \
	"ClusterRole,ClusterRole,ConfigMap,CronJob,Namespace,NetworkPolicy,Role,RoleBinding,RoleBinding,RoleBinding,ServiceAccount" \
	"the base holds a namespace, a ServiceAccount, the roles and bindings, the ConfigMap, the CronJob, a NetworkPolicy"
is "$(R '[.items[] | select((.apiVersion|type)=="string" and (.kind|type)=="string" and (.metadata.name|type)=="string" and (.metadata.name|length)>0)] | length')" \
	"$(R '.items | length')" "every rendered object has apiVersion, kind and metadata.name"
is "$(R '[.items[] | select(.kind|IN("Namespace","ClusterRole","ClusterRoleBinding")|not) | select(.metadata.namespace==null)] | length')" 0 \
	"every namespaced object names its namespace"

cj='.items[] | select(.kind=="CronJob")'
pod="$cj | .spec.jobTemplate.spec.template.spec"
ctr="$pod | .containers[0]"
is "$(R "$cj | .spec.schedule")" "*/15 * * * *" "the CronJob runs every 15 minutes"
is "$(R "$cj | .spec.concurrencyPolicy")" Forbid "concurrencyPolicy Forbid"
is "$(R "$cj | [.spec.startingDeadlineSeconds, .spec.jobTemplate.spec.backoffLimit, .spec.jobTemplate.spec.activeDeadlineSeconds] | map(type) | join(\",\")")" \
	"number,number,number" "startingDeadlineSeconds, backoffLimit and activeDeadlineSeconds are set"
is "$(R "$cj | .spec.jobTemplate.spec.backoffLimit")" 0 "backoffLimit 0: a retry would add probe containers to every pod"
check "activeDeadlineSeconds is under the 15-minute period" test "$(R "$cj | .spec.jobTemplate.spec.activeDeadlineSeconds")" -lt 900
is "$(R "$ctr | .securityContext | [.runAsNonRoot, .runAsUser, .readOnlyRootFilesystem, .allowPrivilegeEscalation, (.capabilities.drop|join(\",\")), .seccompProfile.type] | map(tostring) | join(\" \")")" \
	"true 65532 true false ALL RuntimeDefault" \
	"the container runs restricted: non-root uid 65532, read-only root, no escalation, drop ALL, seccomp RuntimeDefault"
is "$(R "$pod | .securityContext | [.runAsNonRoot, .runAsUser, .seccompProfile.type] | map(tostring) | join(\" \")")" \
	"true 65532 RuntimeDefault" "and so does the pod"
is "$(R "$ctr | [.resources.requests.cpu, .resources.requests.memory, .resources.limits.memory] | map(type) | join(\",\")")" \
	"string,string,string" "requests and a memory limit are set"
args=$(R "$ctr | .args | join(\" \")")
for a in verify --namespace=production --label-selector=tier=critical --fail-on-drift=true \
	'--report-to=https://' --config=/etc/runtime-verifier/config.yaml \
	--spool-dir=/var/cache/runtime-verifier/ --cache-dir=/var/cache/runtime-verifier/ \
	--webhook-secret-file=/var/run/secrets/runtime-verifier/; do
	like " $args" " $a" "the CronJob passes $a"
done
is "$(R "$pod | .serviceAccountName")" "$(R '.items[] | select(.kind=="ServiceAccount") | .metadata.name')" \
	"the Job runs as the shipped ServiceAccount"
is "$(R "[$ctr | .volumeMounts[].name] - [$pod | .volumes[].name] | length")" 0 "every volumeMount has its volume"
is "$(R "$pod | .volumes[] | select(.configMap) | .configMap.name")" \
	"$(R '.items[] | select(.kind=="ConfigMap") | .metadata.name')" \
	"the config volume is the generated ConfigMap (hash-suffixed name rewritten by kustomize)"
is "$(R "$ctr | .volumeMounts[] | select(.name==\"config\") | .mountPath")/config.yaml" \
	"$(R "$ctr | .args[] | select(startswith(\"--config=\")) | ltrimstr(\"--config=\")")" \
	"--config names the file the ConfigMap mounts"
is "$(R "$pod | .volumes[] | select(.secret) | .secret.secretName")" runtime-verifier-webhook \
	"the webhook key comes from the Secret runtime-verifier-webhook"
is "$(R "$ctr | .volumeMounts[] | select(.name==\"webhook\") | .mountPath")/$(R "$pod | .volumes[] | select(.secret) | .secret.items[0].path")" \
	"$(R "$ctr | .args[] | select(startswith(\"--webhook-secret-file=\")) | ltrimstr(\"--webhook-secret-file=\")")" \
	"--webhook-secret-file names the file the Secret mounts"
cachemnt=$(R "$ctr | .volumeMounts[] | select(.name==\"cache\") | .mountPath")
like "$(R "$ctr | .args[] | select(startswith(\"--spool-dir=\") or startswith(\"--cache-dir=\"))" | tr '\n' ' ')" \
	"^--spool-dir=$cachemnt/[a-z]+ --cache-dir=$cachemnt/[a-z]+ $" \
	"--spool-dir and --cache-dir are on the cache volume"
is "$(R "$pod | .volumes[] | select(.name==\"cache\") | keys | map(select(.!=\"name\")) | join(\",\")")" emptyDir "the cache volume is an emptyDir"
is "$(R '.items[] | select(.kind=="ConfigMap") | .data["config.yaml"]')" "$(cat "$K8S/config.yaml")" \
	"the ConfigMap holds k8s/config.yaml"
is "$(R '.items[] | select(.kind=="NetworkPolicy") | [.spec.podSelector.matchLabels["app.kubernetes.io/name"], (.spec.policyTypes|join(",")), (.spec.ingress|length)] | map(tostring) | join(" ")')" \
	"$(R "$cj | .spec.jobTemplate.spec.template.metadata.labels[\"app.kubernetes.io/name\"]") Ingress,Egress 0" \
	"the NetworkPolicy selects the Job's pods, allows no ingress and lists egress"
is "$(R '.items[] | select(.kind=="RoleBinding" and .roleRef.kind=="ClusterRole") | [.roleRef.name] | join(",")' | sort | tr '\n' ' ')" \
	"runtime-verifier runtime-verifier-pull-secrets " "the RoleBindings bind the two ClusterRoles"
is "$(R '[.items[] | select(.kind=="RoleBinding" and .roleRef.kind=="ClusterRole") | .metadata.namespace] | unique | join(",")')" \
	"$(R "$ctr | .args[] | select(startswith(\"--namespace=\")) | ltrimstr(\"--namespace=\")")" \
	"the bindings are in the namespace the CronJob verifies"
is "$(R '.items[] | select(.kind=="ClusterRole" and .metadata.name=="runtime-verifier") | [.rules[] | "\(.resources[0]):\(.verbs|join("+"))"] | join(" ")')" \
	"pods:list pods:get pods:watch pods:patch pods/ephemeralcontainers:patch pods/log:get events:create" \
	"the ClusterRole grants exactly what verify uses, one verb per rule"
is "$(R '.items[] | select(.kind=="ClusterRole" and .metadata.name=="runtime-verifier-pull-secrets") | [.rules[] | "\(.resources[0]):\(.verbs|join("+"))"] | join(" ")')" \
	"secrets:get" "reading pull secrets is a separate, namespace-bound ClusterRole"
is "$(R '.items[] | select(.kind=="Role" and .metadata.name=="runtime-verifier-quarantine-state") | "\(.metadata.namespace) " + ([.rules[] | "\(.resources[0]):\(.verbs|join("+"))[\(.resourceNames // [] | join(","))]"] | join(" "))')" \
	"runtime-verifier configmaps:get+update[runtime-verifier-state] configmaps:create[]" \
	"the quarantine's Role: get and update of its one ConfigMap, create (not limitable by name), in the verifier's namespace"
is "$(R '.items[] | select(.kind=="RoleBinding" and .roleRef.name=="runtime-verifier-quarantine-state") | "\(.roleRef.kind) \(.metadata.namespace) \(.subjects[0].namespace)/\(.subjects[0].name)"')" \
	"Role runtime-verifier runtime-verifier/runtime-verifier" "bound to the ServiceAccount there"

# --- 2. the components and the Kyverno files render ------------------------------
render_with cluster-wide > "$work/cw.yaml" && to_json < "$work/cw.yaml" > "$work/cw.json"
is "$(jq -r '[.items[] | select(.kind=="ClusterRoleBinding") | .roleRef.name] + [.items[] | select(.kind=="CronJob") | .spec.jobTemplate.spec.template.spec.containers[0].args[1]] | join(" ")' "$work/cw.json")" \
	"runtime-verifier --all-namespaces" "components/cluster-wide: a ClusterRoleBinding and --all-namespaces"
is "$(jq '[.items[] | select(.kind=="RoleBinding" and .metadata.name=="runtime-verifier")] | length' "$work/cw.json")" 0 \
	"and no leftover namespaced binding of the main role"
render_with namespaced-role > "$work/nr.yaml" && to_json < "$work/nr.yaml" > "$work/nr.json"
is "$(jq -c '.items[] | select(.kind=="Role" and .metadata.name=="runtime-verifier") | .rules' "$work/nr.json")" \
	"$(R -c '.items[] | select(.kind=="ClusterRole" and .metadata.name=="runtime-verifier") | .rules')" \
	"components/namespaced-role: the Role's rules equal the ClusterRole's"
is "$(jq -r '[.items[] | select(.kind=="RoleBinding" and .metadata.name=="runtime-verifier") | .roleRef.kind] + [.items[] | select(.kind=="ClusterRole" and .metadata.name=="runtime-verifier") | .kind] | join(",")' "$work/nr.json")" \
	"Role" "and the binding refers to the Role, the main ClusterRole is gone"
render_with persistent-cache > "$work/pc.yaml" && to_json < "$work/pc.yaml" > "$work/pc.json"
is "$(jq -r '.items[] | select(.kind=="CronJob") | .spec.jobTemplate.spec.template.spec.volumes[] | select(.name=="cache") | .persistentVolumeClaim.claimName' "$work/pc.json")" \
	"$(jq -r '.items[] | select(.kind=="PersistentVolumeClaim") | .metadata.name' "$work/pc.json")" \
	"components/persistent-cache: the cache volume is the shipped PVC"
render_with policy-reports > "$work/pr.yaml" && to_json < "$work/pr.yaml" > "$work/pr.json"
is "$(jq -r '.items[] | select(.kind=="ClusterRole" and .metadata.name=="runtime-verifier-policy-reports") | [.rules[] | "\(.apiGroups[0]) \(.resources[0]):\(.verbs|join("+"))"] | join(" ")' "$work/pr.json")" \
	"wgpolicyk8s.io policyreports:get wgpolicyk8s.io policyreports:create wgpolicyk8s.io policyreports:update" \
	"components/policy-reports: a ClusterRole with get, create and update on policyreports, one verb per rule"
is "$(jq -r '.items[] | select(.kind=="RoleBinding" and .roleRef.name=="runtime-verifier-policy-reports") | "\(.metadata.namespace) \(.subjects[0].namespace)/\(.subjects[0].name)"' "$work/pr.json")" \
	"$(R "$ctr | .args[] | select(startswith(\"--namespace=\")) | ltrimstr(\"--namespace=\")") runtime-verifier/runtime-verifier" \
	"bound to the ServiceAccount in the namespace the CronJob verifies"
is "$(jq -r '.items[] | select(.kind=="CronJob") | .spec.jobTemplate.spec.template.spec.containers[0].args | map(select(startswith("--policy-reports"))) | join(" ")' "$work/pr.json")" \
	"--policy-reports=true" "and the CronJob passes --policy-reports=true"
render_with eviction > "$work/ev.yaml" && to_json < "$work/ev.yaml" > "$work/ev.json"
is "$(jq -r '.items[] | select(.kind=="ClusterRole" and .metadata.name=="runtime-verifier-eviction") | [.rules[] | "\(.resources[0]):\(.verbs|join("+"))"] | join(" ")' "$work/ev.json")" \
	"pods/eviction:create" "components/eviction: a ClusterRole with pods/eviction create only"
is "$(jq -r '.items[] | select(.kind=="RoleBinding" and .roleRef.name=="runtime-verifier-eviction") | "\(.metadata.namespace) \(.subjects[0].namespace)/\(.subjects[0].name)"' "$work/ev.json")" \
	"$(R "$ctr | .args[] | select(startswith(\"--namespace=\")) | ltrimstr(\"--namespace=\")") runtime-verifier/runtime-verifier" \
	"bound to the ServiceAccount in the namespace the CronJob verifies"
is "$(jq -r '.items[] | select(.kind=="CronJob") | .spec.jobTemplate.spec.template.spec.containers[0].args | map(select(. == "--evict")) | join(" ")' "$work/ev.json")" \
	"--evict" "and the CronJob passes --evict"
check "kubectl kustomize k8s/kyverno renders" sh -c 'kubectl kustomize "$1/kyverno" > "$2"' _ "$K8S" "$work/kyverno.yaml"
to_json < "$work/kyverno.yaml" > "$work/kyverno.json"
KP='.items[] | select(.kind=="ClusterPolicy")'
is "$(jq -r "$KP | .apiVersion" "$work/kyverno.json")" kyverno.io/v1 "a kyverno.io/v1 ClusterPolicy"
is "$(jq -r "$KP | .spec.rules[0].match.any[0].resources | [(.kinds|join(\",\")), .selector.matchLabels[\"runtime-verifier.io/quarantine\"], (.operations|join(\",\"))] | join(\" \")" "$work/kyverno.json")" \
	"Pod true CREATE,UPDATE" "it matches pods labelled runtime-verifier.io/quarantine=true, on create and on update (labelling)"
is "$(jq -r "$KP | .spec.rules[0].match.any[0].resources.selector.matchLabels | to_entries[0] | \"\\(.key)=\\(.value)\"" "$work/kyverno.json")" \
	"$(sed -n 's/^#define RV_QUARANTINE_LABEL "\(.*\)"$/\1/p' "$RV_TOP/lib/pipeline/quarantine.h")=true" \
	"the label it matches is exactly the one the verifier sets (lib/pipeline/quarantine.h)"
is "$(jq -r "$KP | .spec.rules[0].generate | [.apiVersion, .kind, .namespace, (.data.spec.podSelector.matchLabels[\"runtime-verifier.io/quarantine\"]), (.data.spec.policyTypes|join(\",\")), (.data.spec.ingress|length), (.data.spec.egress|length)] | map(tostring) | join(\" \")" "$work/kyverno.json")" \
	"networking.k8s.io/v1 NetworkPolicy {{request.object.metadata.namespace}} true Ingress,Egress 0 0" \
	"it generates a deny-all NetworkPolicy (no ingress, no egress rule) for those pods in their namespace"
is "$(jq -r "$KP | [(.spec.rules[0] | keys | map(select(IN(\"validate\",\"mutate\",\"generate\",\"verifyImages\"))) | join(\",\")), .spec.generateExisting] | map(tostring) | join(\" \")" "$work/kyverno.json")" \
	"generate true" "one rule type per rule (generate), and existing labelled pods are covered"
is "$(jq -r '[.items[] | select(.kind=="ClusterRole") | .metadata.labels | keys[] | select(startswith("rbac.kyverno.io/"))] | sort | join(" ")' "$work/kyverno.json")" \
	"rbac.kyverno.io/aggregate-to-admission-controller rbac.kyverno.io/aggregate-to-background-controller" \
	"the Kyverno RBAC aggregates into the admission and background controllers"
is "$(jq -r '.items[] | select(.metadata.labels["rbac.kyverno.io/aggregate-to-background-controller"]) | .rules[0] | "\(.apiGroups[0]) \(.resources[0]) \(.verbs|sort|join(","))"' "$work/kyverno.json")" \
	"networking.k8s.io networkpolicies create,delete,get,list,patch,update,watch" \
	"the background controller may manage NetworkPolicies"

# --- 3. the Kubernetes OpenAPI schema (kubernetes-models from npm) ------------------
# kubernetes-models ships the Kubernetes OpenAPI definitions compiled to
# validators (type, enum, required, formats). Unknown fields pass, as they
# pass the OpenAPI schema; Kyverno's ClusterPolicy has no schema there.
# (tests/lib/k8s_validator.sh installs it into build/k8s-validator; the chart's
# test, chart_render.sh, uses the same.)
source "$(dirname "$0")/../lib/k8s_validator.sh"
if k8s_validator_setup; then
	jq -s '{items: [.[].items[]]}' "$work/render.json" "$work/cw.json" "$work/nr.json" "$work/pc.json" \
		"$work/pr.json" "$work/ev.json" "$work/kyverno.json" | jq '{items: (.items | unique_by([.kind, .metadata.namespace, .metadata.name]))}' \
		> "$work/all.json"
	k8s_validate "$work/all.json" > "$work/valid.txt" 2>&1
	rc=$?
	sed 's/^/# /' "$work/valid.txt"
	is "$rc" 0 "every rendered object validates against the Kubernetes OpenAPI schema (kubernetes-models)"
	is "$(grep -c '^valid' "$work/valid.txt")" "$(($(jq '.items | length' "$work/all.json") - 1))" \
		"all but the Kyverno ClusterPolicy have a schema and pass"
	# the validator is not a rubber stamp
	jq '(.items[] | select(.kind=="CronJob") | .spec.concurrencyPolicy) = "Never"' "$work/render.json" > "$work/broken.json"
	check_fails "a wrong concurrencyPolicy is refused by the same validator" k8s_valid "$work/broken.json"
else
	not_ok "kubernetes-models could not be installed from the npm registry or loaded by this node: no schema validation"
fi

# --- 4. the cluster: apply the rendered objects, verify as the ServiceAccount -------
T0=$(date +%s)
cluster_start
"$SCN" load "$RV_TOP/tests/sandbox/scenarios/k8s.json" > /dev/null
"$SCN" wait -n production --timeout 120 > /dev/null
PROBE="$CLUSTER_REGISTRY/rv/probe:dev"
# as in the sandbox test: the CronJob and the NetworkPolicy are checked
# above (they would run and isolate here); the rest is applied as rendered
jq '{items: [.items[] | select(.kind!="CronJob" and .kind!="NetworkPolicy")]}' "$work/render.json" | to_yaml > "$work/apply.yaml"
check "kubectl apply -f the rendered namespace, ServiceAccount, RBAC and ConfigMap" \
	sh -c 'kubectl apply -f "$1" > "$2" 2>&1' _ "$work/apply.yaml" "$work/apply.out"
sed 's/^/# /' "$work/apply.out"
is "$(kubectl get clusterrole runtime-verifier -o json | jq -S -c '.rules')" \
	"$(R -S -c '.items[] | select(.kind=="ClusterRole" and .metadata.name=="runtime-verifier") | .rules')" \
	"the ClusterRole reads back as shipped"
to_json < "$work/kyverno.yaml" | to_yaml > "$work/kyverno-apply.yaml"
# Kyverno is not installed: its ClusterPolicy CRD, schema-less (as the
# sandbox served it), so the API server stores the policy
kubectl apply -f - > /dev/null <<'YAML'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: clusterpolicies.kyverno.io}
spec:
  group: kyverno.io
  scope: Cluster
  names: {kind: ClusterPolicy, listKind: ClusterPolicyList, plural: clusterpolicies, singular: clusterpolicy, shortNames: [cpol]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
YAML
kubectl wait --for=condition=Established --timeout=60s crd/clusterpolicies.kyverno.io > /dev/null
check "the Kyverno ClusterPolicy and its RBAC are accepted by the API server (with a schema-less Kyverno CRD)" \
	sh -c 'kubectl apply -f "$1" > "$2" 2>&1' _ "$work/kyverno-apply.yaml" "$work/apply.out"
sed 's/^/# /' "$work/apply.out"
is "$(kubectl get clusterpolicy runtime-verifier-quarantine -o json | jq -r '.spec.rules[0].generate | "\(.kind) \(.data.spec.podSelector.matchLabels | to_entries[0] | "\(.key)=\(.value)")"')" \
	"NetworkPolicy runtime-verifier.io/quarantine=true" "and read back with kubectl"

SA=system:serviceaccount:runtime-verifier:runtime-verifier
"$SCN" kubeconfig --user "$SA" --namespace production > "$work/sa.kubeconfig"
printf 'probe:\n  maxEphemeralContainers: 100\n' > "$work/cap.yaml"
sa_verify() { # KUBECONFIG-FILE ARGS...: verify as that user; JSON report in $work/r.json
	local kc=$1
	shift
	"$RV" verify --kubeconfig "$kc" --probe-image "$PROBE" --insecure-registry "$CLUSTER_REGISTRY" \
		--config "$work/cap.yaml" -n production -l tier=critical -o json "$@" > "$work/r.json" 2> "$work/err"
}
jqr() { jq -r "$@" "$work/r.json"; }
verdict() { jqr --arg p "$1" '.pods[] | select(.name==$p) | .containers[0].verdict'; }

sa_verify "$work/sa.kubeconfig" -l app=clean
is "$?" 0 "as the ServiceAccount bound by the shipped RoleBinding: a clean pod, exit 0"
is "$(verdict clean)" clean "verdict clean"
"$SCN" drift production drifted app write /app/index.html '<h1>owned</h1>' --user 1000:1000
sa_verify "$work/sa.kubeconfig" --fail-on-drift=true
is "$?" 1 "the drifted pod: exit 1 with --fail-on-drift=true"
is "$(verdict drifted) $(verdict clean) $(verdict pulled)" "drift clean clean" "verdicts drift, clean, clean"
is "$(jqr '[.pods[] | .notes // [] | .[]] + [.pods[].containers[] | .eventError // empty] | length')" 0 \
	"no note and no event error: every request was allowed"
like "$(kubectl get events -n production --field-selector reason=DriftDetected -o json | jq -r '.items[].message')" \
	"container app drifted from image sha256:" "the DriftDetected Event was posted (read with kubectl)"

# --- 5. each rule removed in turn ----------------------------------------------------
# Fresh service account per removal, bound like the shipped RoleBinding (in production)
# to a copy of the ClusterRole without that one rule, and to the
# pull-secrets role (but for its own removal).
CR=$(R -c '.items[] | select(.kind=="ClusterRole" and .metadata.name=="runtime-verifier")')
nrules=$(jq '.rules | length' <<<"$CR")
minus() { # INDEX|secrets: prints the kubeconfig path
	local i=$1 user="$SA-minus-$1" role="rv-minus-$1"
	if [ "$i" = secrets ]; then
		role=runtime-verifier
	else
		jq --arg n "$role" --argjson i "$i" '.metadata.name = $n | .rules |= del(.[$i])' <<<"$CR" |
			kubectl apply -f - > /dev/null
		"$SCN" bind --user "$user" --clusterrole runtime-verifier-pull-secrets --namespace production > /dev/null
	fi
	"$SCN" bind --user "$user" --clusterrole "$role" --namespace production > /dev/null
	"$SCN" kubeconfig --user "$user" --namespace production > "$work/kc-$i"
	echo "$work/kc-$i"
}
# what each removal must give: exit code, and where the 403 shows
#   index  rule                       exit  message found in
expect=(
	"0 pods:list                      2 errors"
	"1 pods:get                       1 none"
	"2 pods:watch                     1 none"
	"3 pods:patch                     1 notes"
	"4 pods/ephemeralcontainers:patch 2 reason"
	"5 pods/log:get                   2 reason"
	"6 events:create                  1 eventError"
	"secrets secrets:get              1 notes"
)
is "$nrules" 7 "seven rules to remove one by one"
for e in "${expect[@]}"; do
	read -r i rule want where <<<"$e"
	res=${rule%%:*} verb=${rule##*:}
	if [ "$i" != secrets ]; then
		is "$(jq -r --argjson i "$i" '.rules[$i] | "\(.resources[0]):\(.verbs[0])"' <<<"$CR")" "$rule" "rule $i is $rule"
	fi
	kc=$(minus "$i")
	t0=$(date +%s%N)
	sa_verify "$kc" --fail-on-drift=true
	rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	msg="cannot $verb resource \"$res\""
	case $where in
	errors) got=$(jqr '.errors[]'; cat "$work/err") ;;
	reason) got=$(jqr '.pods[].containers[] | .reason // empty') ;;
	notes) got=$(jqr '.pods[] | .notes // [] | .[]') ;;
	eventError) got=$(jqr '.pods[].containers[] | .eventError // empty') ;;
	none) got=$(jqr '[.pods[] | .notes // [] | .[]] + [.pods[].containers[] | .reason // empty, .eventError // empty] | .[]') ;;
	esac
	echo "# without $rule: exit $rc in ${ms} ms; verdicts $(jqr '[.pods[] | "\(.name)=\(.containers[0].verdict // "-")"] | join(" ")' 2>/dev/null)"
	printf '%s\n' "$got" | grep -m1 . | cut -c1-300 | sed 's/^/#   /'
	is "$rc" "$want" "without $rule: exit $want"
	if [ "$where" = none ]; then
		is "$got" "" "without $rule: not noticed while the other path works (a watch, or GET polling)"
	else
		like "$got" "forbidden: User \"$SA-minus-$i\" $msg" "without $rule: the $where say '$msg', naming the user"
	fi
done
like "$(kubectl get events -n production --field-selector reason=VerificationFailed -o json | jq -r '.items[].message')" \
	'is unverifiable: the API server refused the probe container: .*cannot patch resource "pods/ephemeralcontainers"' \
	"a refused probe also shows on the pod as a VerificationFailed Event carrying the 403"

# --- 6. the CronJob's own command line ------------------------------------------------
# Its args as rendered, with only the paths and URLs that point into a cluster
# moved into this test: the config file is the rendered ConfigMap's, the
# webhook a local receiver, the secret a file, the volumes a temp dir.
mkdir -p "$work/etc" "$work/cache"
R '.items[] | select(.kind=="ConfigMap") | .data["config.yaml"]' > "$work/etc/config.yaml"
printf 'hook-secret\n' > "$work/secret"
sh "$RV_TOP/tests/lib/mkcerts.sh" "$work/certs"
echo '{"/drift": [{"status": 202, "body": ""}]}' > "$work/script.json"
python3 "$RV_TOP/tests/lib/scripted_httpd.py" --cert "$work/certs/server.crt" --key "$work/certs/server.key" \
	--script "$work/script.json" --log "$work/hook.log" --port-file "$work/hookport" &
receiver_pid=$!
for _ in $(seq 50); do [ -s "$work/hookport" ] && break; sleep 0.1; done
port=$(cat "$work/hookport")
R "$ctr | .command + .args | .[]" > "$work/shipped-args"
mapfile -t cmd < <(R --arg w "$work" --arg port "$port" "$ctr | .args | map(
	if startswith(\"--report-to=\") then \"--report-to=https://127.0.0.1:\" + \$port + \"/drift\"
	elif startswith(\"--webhook-secret-file=\") then \"--webhook-secret-file=\" + \$w + \"/secret\"
	elif startswith(\"--config=\") then \"--config=\" + \$w + \"/etc/config.yaml\"
	elif startswith(\"--spool-dir=\") then \"--spool-dir=\" + \$w + \"/cache/spool\"
	elif startswith(\"--cache-dir=\") then \"--cache-dir=\" + \$w + \"/cache/images\"
	else . end) | .[]")
is "$(R "$ctr | .command[0]")" /usr/bin/runtime-verifier "the CronJob runs /usr/bin/runtime-verifier (here: build/runtime-verifier)"
echo "# $RV ${cmd[*]} --kubeconfig sa.kubeconfig --probe-image $PROBE --insecure-registry $CLUSTER_REGISTRY --webhook-ca ca.crt"
: > "$work/hook.log"
/usr/bin/time -f '%e %M' -o "$work/time" "$RV" "${cmd[@]}" --kubeconfig "$work/sa.kubeconfig" --probe-image "$PROBE" \
	--insecure-registry "$CLUSTER_REGISTRY" --webhook-ca "$work/certs/ca.crt" > "$work/out" 2> "$work/err"
rc=$?
sed 's/^/#   /' "$work/out" | head -20
echo "# wall seconds, max RSS KiB: $(cat "$work/time" | tail -1)"
is "$rc" 1 "the CronJob's command, as the ServiceAccount: exit 1, the drift verdict (--fail-on-drift=true)"
like "$(cat "$work/out")" "production/drifted/app +drift" "its summary reports the drift"
like "$(cat "$work/out")" "production/clean/app +skipped" \
	"the rendered config took effect: minInterval 1h skips the pod verified clean minutes ago"
check_fails "no usage error, no config error" grep -Eq "usage|config '" "$work/err"
is "$(wc -l < "$work/hook.log")" 1 "the report was POSTed to --report-to"
is "$(jq -r '.body | fromjson | .selector | "\(.namespaces|join(",")) \(.labelSelector)"' "$work/hook.log")" \
	"production tier=critical" "for the namespace and selector of the shipped args"
check "its signature verifies with the key from --webhook-secret-file" python3 - "$work/hook.log" "$work/secret" <<'PY'
import hashlib, hmac, json, sys
secret = open(sys.argv[2]).read().strip().encode()
r = json.loads(open(sys.argv[1]).readline())
h = r["headers"]
want = "v1=" + hmac.new(secret, (h["X-RV-Timestamp"] + "." + r["body"]).encode(), hashlib.sha256).hexdigest()
sys.exit(0 if hmac.compare_digest(want, h["X-RV-Signature"]) else 1)
PY
check "the image fingerprint cache was written under --cache-dir" test -n "$(ls -A "$work/cache/images" 2>/dev/null)"

cluster_stop
echo "# k8s_manifests_cluster.sh: cluster part $(($(date +%s) - T0))s (cluster up ${CLUSTER_UP_SECONDS}s, down ${CLUSTER_DOWN_SECONDS}s)"
done_testing
