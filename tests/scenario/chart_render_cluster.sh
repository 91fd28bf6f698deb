#!/bin/bash
# chart_render_cluster.sh - the port of chart_render.sh to the real test
# cluster (tests/cluster; every assertion kept: the RBAC is applied to the
# real API server and asked with kubectl auth can-i against the real RBAC
# authorizer). charts/runtime-verifier: rendered by tests/lib/helm_render.py
# (a renderer for the template subset the chart uses; there is no helm here),
# with the default values and with values that turn every option on. The
# renderer itself is checked first (known Go template/Sprig results, and
# refusals of what it does not implement). Then the rendered objects are
# valid YAML, valid against the Kubernetes OpenAPI schema (kubernetes-models),
# equal to the kustomize base k8s/ where they should be (the ClusterRole's
# rules and comments, the CronJob, the config, the NetworkPolicy, the
# components and k8s/kyverno), the feature RBAC appears only when enabled,
# every value is documented, and the RBAC, applied to the cluster, grants
# what it should as the chart's ServiceAccount.
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/../lib/k8s_validator.sh"
source "$(dirname "$0")/../cluster/testlib.sh"
set -u

CHART="$RV_TOP/charts/runtime-verifier"
K8S="$RV_TOP/k8s"
HR="$RV_TOP/tests/lib/helm_render.py"
work=$(mktemp -d "${TMPDIR:-/tmp}/rv-chart-test.XXXXXX")
cleanup() {
	cluster_stop
	rm -rf "$work"
}
trap cleanup EXIT

# YAML stream -> {"items": [...]}
to_json() {
	python3 -c 'import sys, yaml, json
print(json.dumps({"items": [d for d in yaml.safe_load_all(sys.stdin) if d]}))'
}
to_yaml() {
	python3 -c 'import sys, yaml, json
print(yaml.safe_dump_all(json.load(sys.stdin)["items"], sort_keys=False), end="")'
}
# render NAME [helm_render args...]: $work/NAME.yaml and $work/NAME.json
render() {
	local name=$1
	shift
	python3 "$HR" "$CHART" --name runtime-verifier "$@" > "$work/$name.yaml" 2> "$work/$name.err" &&
		to_json < "$work/$name.yaml" > "$work/$name.json"
}
J() { # NAME JQ-ARGS...: jq -r over a rendered chart
	local name=$1
	shift
	jq -r "$@" "$work/$name.json"
}
cfg() { J "$1" '.items[] | select(.kind=="ConfigMap") | .data["config.yaml"]' |
	python3 -c 'import sys, yaml, json; print(json.dumps(yaml.safe_load(sys.stdin), sort_keys=True))'; }

# --- 1. the renderer: known results of Go templates and Sprig -----------------------
# Each line of want is what helm (text/template + Sprig) prints for the
# template line above it; the notes say which rule is checked.
fx="$work/fixture"
mkdir -p "$fx/templates"
printf 'apiVersion: v2\nname: fixture\nversion: 0.1.0\n' > "$fx/Chart.yaml"
cat > "$fx/values.yaml" <<'EOF'
list: [a, b]
map: {b: 1, a: [x], c: {d: hello}}
empty: ""
zero: 0
big: 1000000
half: 0.5
word: str
flag: true
EOF
cat > "$fx/templates/t.yaml" <<'EOF'
a  {{- "b" -}}  c
x:{{ "a\nb" | nindent 2 }}
{{ "say \"hi\"" | quote }} {{ 3 | quote }} {{ .Values.flag | quote }} {{ "tab	" | quote }}
{{ .Values.empty | default "d" }} {{ .Values.zero | default 5 }} {{ .Values.word | default "d" }} {{ default "d" .Values.word }}
{{- range .Values.list }}[{{ . }}/{{ $.Release.Name }}/{{ $.Release.Namespace }}]{{- end }}
{{ toYaml .Values.map }}
{{ .Values.big }} {{ .Values.half }} {{ .Values.zero }} {{ 42 }}
{{- /* a comment, and the newline before it, are gone */}}
{{ if .Values.empty }}yes{{ else }}no{{ end }} {{ if .Values.list }}yes{{ end }} {{ if .Values.zero }}yes{{ else }}no{{ end }}
{{- range .Values.map }}<{{ toYaml . }}>{{ end }}
{{ include "fx.greet" .Values.word }}|{{ include "fx.greet" "you" | quote }}
{{ "{{kyverno.variable}}" }}
EOF
cat > "$fx/templates/_helpers.tpl" <<'EOF'
{{/* partials hold only defines */}}
{{- define "fx.greet" -}}
hello {{ . }}
{{- end }}
EOF
cat > "$work/fixture.want" <<'EOF'
# Source: fixture/templates/t.yaml
abc
x:
  a
  b
"say \"hi\"" "3" "true" "tab\t"
d 5 str str[a/rel/ns][b/rel/ns]
a:
- x
b: 1
c:
  d: hello
1e+06 0.5 0 42
no yes no<- x><1><d: hello>
hello str|"hello you"
{{kyverno.variable}}

EOF
python3 "$HR" "$fx" --raw --name rel --namespace ns > "$work/fixture.got" 2> "$work/fixture.err"
is "$?" 0 "the renderer renders a template using every construct of the subset"
same_file "$work/fixture.got" "$work/fixture.want" \
	"and prints what helm prints: trim markers, nindent, quote, default, range with \$, toYaml (sorted), numbers as Go floats (1e+06), if on empty values, include, comments"
diff "$work/fixture.want" "$work/fixture.got" | sed 's/^/# /' | head -20

# each construct outside the subset: an error naming the file and the line
refuse() { # DESC LINE WANT-IN-MESSAGE TEMPLATE-TEXT
	local desc=$1 line=$2 want=$3 text=$4
	printf '%s\n' "$text" > "$fx/templates/t.yaml"
	python3 "$HR" "$fx" --raw > /dev/null 2> "$work/refuse.err"
	local rc=$?
	if [ "$rc" -ne 1 ]; then
		not_ok "the renderer refuses $desc (exit $rc, not 1)"
		return
	fi
	like "$(cat "$work/refuse.err")" "^helm_render: templates/t\.yaml:$line: .*$want" \
		"the renderer refuses $desc, naming the template and line $line"
	sed 's/^/#   /' "$work/refuse.err" | head -2
}
refuse "printf (a function outside the subset)" 2 "function 'printf' is not in the subset" \
	$'a: 1\nb: {{ printf "%s" .Values.word }}'
refuse "tpl" 1 "function 'tpl'" '{{ tpl .Values.word . }}'
refuse "with" 3 "'with' is not in the subset" $'x\ny\n{{- with .Values.map }}{{ .a }}{{ end }}'
refuse "variables" 1 "variables .* are not in the subset" '{{- range $i, $v := .Values.list }}{{ $v }}{{ end }}'
refuse "else if" 1 "'else if' is not in the subset" '{{ if .Values.flag }}a{{ else if .Values.zero }}b{{ end }}'
refuse "parentheses" 1 "unsupported syntax" '{{ default (include "fx.greet" .) .Values.word }}'
refuse "eq/not/and (comparisons)" 1 "function 'eq' is not in the subset" '{{ if eq .Values.word "str" }}x{{ end }}'
refuse "a value that is not in values.yaml" 2 "no value 'missing'" $'a: 1\nb: {{ .Values.map.missing }}'
refuse ".Chart (not in the subset)" 1 "'.Chart' is not in the subset" '{{ .Chart.Name }}'
refuse ".Release.Service (not in the subset)" 1 "'.Release.Service' is not in the subset" '{{ .Release.Service }}'
refuse "printing a map without toYaml" 1 "is a map: print it with toYaml" 'm: {{ .Values.map }}'
refuse "nindent of a map (no toYaml)" 1 "nindent: expects a string, got a map" '{{ .Values.map | nindent 2 }}'
refuse "an if without end" 2 "unclosed if" $'a\n{{ if .Values.flag }}b'
refuse "an end without if" 1 "end without if" 'a {{ end }}'
refuse "a function with a wrong number of arguments" 1 "quote takes 1 argument" '{{ quote "a" "b" }}'
refuse "an include of an unknown template" 1 "no template named 'nope'" '{{ include "nope" . }}'
# what the renderer checks in the output
printf 'a: 1\na: 2\n' > "$fx/templates/t.yaml"
python3 "$HR" "$fx" > /dev/null 2> "$work/refuse.err"
like "$?:$(cat "$work/refuse.err")" "^1:helm_render: templates/t\.yaml: .*duplicate key 'a'" \
	"a rendered document with a duplicate key is refused (kubectl would refuse it)"
printf 'kind: ConfigMap\nmetadata:\n  name: {{ .Values.word }}\n data: {}\n' > "$fx/templates/t.yaml"
python3 "$HR" "$fx" > /dev/null 2> "$work/refuse.err"
like "$?:$(cat "$work/refuse.err")" "^1:helm_render: templates/t\.yaml: the rendered document 1 is not valid YAML" \
	"a rendered document that is not YAML is refused, naming the template"
printf 'kind: ConfigMap\nmetadata:\n  name: x\n' > "$fx/templates/t.yaml"
python3 "$HR" "$fx" > /dev/null 2> "$work/refuse.err"
like "$?:$(cat "$work/refuse.err")" "^1:helm_render: templates/t\.yaml: .*lacks apiVersion" \
	"an object without apiVersion is refused"

# --- 2. the chart renders -----------------------------------------------------------
ALL_ON="$CHART/ci/all-on-values.yaml"
CW="$CHART/ci/cluster-wide-values.yaml"
check "the chart renders with its default values" render def --namespace runtime-verifier
sed 's/^/# /' "$work/def.err"
check "and with ci/all-on-values.yaml (every option on, per namespace)" render all --namespace rv-system -f "$ALL_ON"
sed 's/^/# /' "$work/all.err"
check "and with ci/cluster-wide-values.yaml (allNamespaces, no webhook, no NetworkPolicy)" \
	render cw --namespace rv-system -f "$CW"
sed 's/^/# /' "$work/cw.err"
is "$(grep -c '^# Source: runtime-verifier/templates/' "$work/all.yaml")" "$(J all '.items | length')" \
	"every rendered document is one object (helm_render checks each is YAML with apiVersion, kind, metadata.name)"
tmpl_count=$(ls "$CHART/templates" | grep -vc '^_')
is "$(grep '^# Source:' "$work/all.yaml" | sort -u | wc -l)" "$tmpl_count" \
	"with every option on, every template renders at least one object"
is "$(J all '[.items[].kind] | group_by(.) | map("\(.[0])=\(length)") | join(" ")')" \
	"ClusterPolicy=1 ClusterRole=2 ConfigMap=1 CronJob=1 Namespace=1 NetworkPolicy=1 PersistentVolumeClaim=1 Role=9 RoleBinding=9 ServiceAccount=1" \
	"all on: a Namespace, a PVC, Kyverno's policy and roles, and four Roles and bindings per verified namespace plus the quarantine state's"
for r in def all cw; do
	is "$(J $r '[.items[] | select(.kind|IN("Namespace","ClusterRole","ClusterRoleBinding","ClusterPolicy")|not) | select(.metadata.namespace==null)] | length')" 0 \
		"$r: every namespaced object names its namespace"
done
is "$(J all '[.items[] | select(.kind|IN("Role","RoleBinding")) | .metadata.namespace] | unique | join(",")')" \
	"production,rv-system,staging" "all on: Roles only in the verified namespaces and, for the quarantine state, the release namespace"
is "$(J all '.items[] | select(.kind=="Namespace") | "\(.metadata.name) \(.metadata.labels["pod-security.kubernetes.io/enforce"])"')" \
	"rv-system restricted" "namespace.create: the release namespace, enforcing restricted"

# --- 3. the same objects as the kustomize base ----------------------------------------
check "kubectl kustomize k8s renders (the reference)" sh -c 'kubectl kustomize "$1" > "$2"' _ "$K8S" "$work/k.yaml"
to_json < "$work/k.yaml" > "$work/k.json"
K() { jq -r "$@" "$work/k.json"; }
is "$(J def -c '[.items[] | "\(.kind)/\(.metadata.name)"] | sort')" \
	"$(K -c '[.items[] | select(.kind!="Namespace" and (.metadata.name|startswith("runtime-verifier-quarantine-state")|not)) | "\(.kind)/\(.metadata.name)" | sub("-config-[a-z0-9]+$"; "-config")] | sort')" \
	"the defaults: the kustomize base's objects, by kind and name, but the Namespace (helm's release namespace) and the quarantine state's Role (rendered only with quarantine.enabled)"
yj() { python3 -c 'import sys, yaml, json; print(json.dumps(yaml.safe_load(open(sys.argv[1])), sort_keys=True))' "$1"; }
yja() { python3 -c 'import sys, yaml, json; print(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d], sort_keys=True))' "$1"; }
CR='.items[] | select(.kind=="ClusterRole" and .metadata.name=="runtime-verifier")'
is "$(J def -S -c "$CR | .rules")" "$(yj "$K8S/rbac/clusterrole.yaml" | jq -S -c '.rules')" \
	"the ClusterRole's rules equal k8s/rbac/clusterrole.yaml's"
# the comments, as text: every comment line between "rules:" and the end of the object
rule_comments() { sed -n '/^rules:/,/^---/p' | grep -E '^ *#' | sed 's/^ *//'; }
is "$(sed -n '/^kind: ClusterRole$/,/^---/p' "$work/def.yaml" | awk '/^  name: runtime-verifier$/{f=1} f' | rule_comments)" \
	"$(rule_comments < "$K8S/rbac/clusterrole.yaml")" "and so do its per-rule comments, line by line"
check "(there are comments to compare)" test "$(rule_comments < "$K8S/rbac/clusterrole.yaml" | wc -l)" -gt 7
is "$(J def -S -c '.items[] | select(.kind=="ClusterRole" and .metadata.name=="runtime-verifier-pull-secrets") | .rules')" \
	"$(yja "$K8S/rbac/pull-secrets.yaml" | jq -S -c '.[] | select(.kind=="ClusterRole") | .rules')" \
	"the pull-secrets rules equal k8s/rbac/pull-secrets.yaml's"
is "$(J all -c '[.items[] | select(.kind=="Role" and .metadata.name=="runtime-verifier") | .rules | tojson] | unique | .[]' | jq -S -c .)" \
	"$(yj "$K8S/components/namespaced-role/role.yaml" | jq -S -c '.rules')" \
	"rbac.namespacedRole: each Role has the rules of k8s/components/namespaced-role/role.yaml"
is "$(J all '[.items[] | select(.kind=="RoleBinding" and .metadata.name=="runtime-verifier") | "\(.metadata.namespace):\(.roleRef.kind)"] | join(" ")')" \
	"production:Role staging:Role" "and the bindings refer to the Roles, one per verified namespace"
is "$(J all '[.items[] | select(.kind=="ClusterRole" and (.metadata.name|startswith("runtime-verifier")))] | length')" 0 \
	"and no ClusterRole of the verifier is left (only Kyverno's)"

# the CronJob: the kustomize one, but for the labels and the generated ConfigMap name
cjnorm='.items[] | select(.kind=="CronJob") | .spec
	| del(.jobTemplate.spec.template.metadata.labels)
	| .jobTemplate.spec.template.spec.volumes |= map(if .configMap then .configMap.name = "CONFIG" else . end)'
is "$(J def -S -c "$cjnorm")" "$(K -S -c "$cjnorm")" \
	"the CronJob's spec equals the kustomize base's (schedule, policy, deadlines, securityContext, command, args, resources, volumes)"
ctr='.items[] | select(.kind=="CronJob") | .spec.jobTemplate.spec.template.spec.containers[0]'
is "$(J def -c "$ctr | .command + .args")" "$(K -c "$ctr | .command + .args")" "its command and args, exactly"
for k in 'schedule' 'concurrencyPolicy' 'jobTemplate.spec.backoffLimit'; do
	is "$(J def -c ".items[] | select(.kind==\"CronJob\") | .spec.$k")" "$(K -c ".items[] | select(.kind==\"CronJob\") | .spec.$k")" \
		"$k as in k8s/ ($(K -c ".items[] | select(.kind==\"CronJob\") | .spec.$k"))"
done
is "$(J def -S -c "$ctr | .securityContext")" "$(K -S -c "$ctr | .securityContext")" "the container's securityContext, exactly"
is "$(J def '.items[] | select(.kind=="ConfigMap") | .data["config.yaml"]' | python3 -c 'import sys, yaml, json; print(json.dumps(yaml.safe_load(sys.stdin), sort_keys=True))' | jq -S -c 'del(.quarantine.stateConfigMap)')" \
	"$(yj "$K8S/config.yaml" | jq -S -c .)" "the config file from the default values equals k8s/config.yaml (as data; the chart also names quarantine.stateConfigMap)"
is "$(J def '.items[] | select(.kind=="ConfigMap") | .data["config.yaml"]' | python3 -c 'import sys, yaml; print(yaml.safe_load(sys.stdin)["quarantine"]["stateConfigMap"])')" \
	"$(yja "$K8S/rbac/quarantine-state.yaml" | jq -r '.[] | select(.kind=="Role") | .rules[0].resourceNames[0]')" \
	"and that name is the one k8s/rbac/quarantine-state.yaml grants"
npnorm='.items[] | select(.kind=="NetworkPolicy") | .spec | del(.podSelector)'
is "$(J def -S -c "$npnorm")" "$(K -S -c "$npnorm")" "the NetworkPolicy's rules equal k8s/networkpolicy.yaml's"
is "$(J all '[.items[] | select(.kind=="CronJob") | .spec.jobTemplate.spec.template.metadata.labels][0] as $l
	| .items[] | select(.kind=="NetworkPolicy") | .spec.podSelector.matchLabels
	| "\(length) \([to_entries[] | select($l[.key] != .value)] | length)"')" "2 0" \
	"it selects the Job's pods (by name and instance)"
is "$(J all -S -c '.items[] | select(.kind=="Namespace") | .metadata.labels | with_entries(select(.key|startswith("pod-security")))')" \
	"$(yj "$K8S/namespace.yaml" | jq -S -c '.metadata.labels')" "the Namespace's Pod Security labels equal k8s/namespace.yaml's"
# the components
kust_with() { # COMPONENT...: the base with those components
	local d rel c
	d=$(mktemp -d "$work/overlay.XXXXXX")
	rel=$(realpath --relative-to="$d" "$K8S")
	printf 'resources: [%s]\ncomponents:\n' "$rel" > "$d/kustomization.yaml"
	for c; do printf '  - %s/components/%s\n' "$rel" "$c" >> "$d/kustomization.yaml"; done
	kubectl kustomize "$d" | to_json
}
kust_with cluster-wide > "$work/kcw.json"
kust_with persistent-cache > "$work/kpc.json"
is "$(J cw -c "$ctr | .args[0:2]")" "$(jq -c "$ctr | .args[0:2]" "$work/kcw.json")" \
	"allNamespaces: verify --all-namespaces, as components/cluster-wide"
is "$(J cw '[.items[] | select(.kind=="ClusterRoleBinding") | .roleRef.name] | sort | join(" ")')" \
	"runtime-verifier runtime-verifier-eviction runtime-verifier-policy-reports" \
	"and ClusterRoleBindings of the main role and of the enabled features' roles"
is "$(J cw '[.items[] | select(.kind=="RoleBinding" and .metadata.name!="runtime-verifier-quarantine-state")] | length')" 0 \
	"and no namespaced binding of them"
is "$(J all -S -c '.items[] | select(.kind=="PersistentVolumeClaim") | .spec | del(.storageClassName)')" \
	"$(jq -S -c '.items[] | select(.kind=="PersistentVolumeClaim") | .spec | .resources.requests.storage = "5Gi"' "$work/kpc.json")" \
	"cache.persistent: the PVC of components/persistent-cache, with cache.size"
is "$(J all "$ctr | .volumeMounts[] | select(.name==\"cache\") | .mountPath"):$(J all '.items[] | select(.kind=="CronJob") | .spec.jobTemplate.spec.template.spec.volumes[] | select(.name=="cache") | .persistentVolumeClaim.claimName')" \
	"/var/cache/runtime-verifier:$(J all '.items[] | select(.kind=="PersistentVolumeClaim") | .metadata.name')" \
	"and the cache volume is that claim"
# Kyverno
check "kubectl kustomize k8s/kyverno renders" sh -c 'kubectl kustomize "$1/kyverno" > "$2"' _ "$K8S" "$work/kk.yaml"
to_json < "$work/kk.yaml" > "$work/kk.json"
kp='.items[] | select(.kind=="ClusterPolicy")'
is "$(J all -S -c "$kp | .spec | .rules[0].exclude.any[0].resources.namespaces |= map(if . == \"rv-system\" then \"RELEASE-NS\" else . end)")" \
	"$(jq -S -c "$kp | .spec | .rules[0].exclude.any[0].resources.namespaces |= map(if . == \"runtime-verifier\" then \"RELEASE-NS\" else . end)" "$work/kk.json")" \
	"kyverno.enabled: the ClusterPolicy's spec equals k8s/kyverno's (the release namespace excluded in place of runtime-verifier)"
is "$(J all -S -c "$kp | .metadata.annotations")" "$(jq -S -c "$kp | .metadata.annotations" "$work/kk.json")" "and so do its annotations"
kroles='[.items[] | select(.kind=="ClusterRole") | {rules, agg: (.metadata.labels | with_entries(select(.key|startswith("rbac.kyverno.io/"))))}] | sort_by(.agg|keys)'
is "$(J all -S -c "$kroles")" "$(jq -S -c "$kroles" "$work/kk.json")" \
	"and Kyverno's ClusterRoles have the same rules and aggregation labels"
is "$(J def '[.items[] | select(.kind=="ClusterPolicy")] | length')" 0 "kyverno.enabled false: no policy"

# the features' roles: the rules and comments of k8s/'s files, bound like them
printf 'quarantine:\n  enabled: true\n  evict: true\npolicyReports:\n  enabled: true\n' > "$work/feat-values.yaml"
render feat --namespace runtime-verifier -f "$work/feat-values.yaml"
kust_with eviction policy-reports > "$work/kfeat.json"
for pair in "runtime-verifier-eviction:components/eviction/clusterrole.yaml" \
	"runtime-verifier-policy-reports:components/policy-reports/clusterrole.yaml" \
	"runtime-verifier-quarantine-state:rbac/quarantine-state.yaml"; do
	role=${pair%%:*} file=$K8S/${pair#*:}
	is "$(J feat -S -c ".items[] | select((.kind==\"ClusterRole\" or .kind==\"Role\") and .metadata.name==\"$role\") | .rules")" \
		"$(yja "$file" | jq -S -c ".[] | select(.metadata.name==\"$role\" and (.kind|endswith(\"Role\"))) | .rules")" \
		"the $role rules equal k8s/${pair#*:}'s"
	is "$(awk -v n="  name: $role" '/^---/{f=0} $0==n{f=1} f' "$work/feat.yaml" | rule_comments)" \
		"$(awk -v n="  name: $role" '/^---/{f=0} $0==n{f=1} f' "$file" | rule_comments)" \
		"and so do their comments"
done
bindings='[.items[] | select(.kind|endswith("Binding")) | "\(.kind) \(.metadata.namespace // "-")/\(.metadata.name) -> \(.roleRef.kind)/\(.roleRef.name)"] | sort | join("; ")'
is "$(J feat "$bindings")" "$(jq -r "$bindings" "$work/kfeat.json")" \
	"quarantine (evict) and policyReports: the same bindings as the base with components/eviction and components/policy-reports"
is "$(J feat -c "$ctr | .args")" \
	"$(jq -c "$ctr | .args | map(select(. != \"--evict\" and . != \"--policy-reports=true\"))" "$work/kfeat.json")" \
	"and the same args but --evict and --policy-reports=true, which the chart writes in the config file instead"
is "$(cfg feat | jq -c '[.quarantine.evict, .policyReports]')" "[true,true]" "(the config says evict: true and policyReports: true)"

# --- 4. quarantine and PolicyReports: config and RBAC only when enabled ----------------
cfg all > "$work/all.cfg"
is "$(jq -S -c '.quarantine' "$work/all.cfg")" \
	"$(yj "$ALL_ON" | jq -S -c '.quarantine | del(.enabled)')" \
	"quarantine.enabled: the config's quarantine section holds after, releaseAfter, dryRun, evict, staleAfter, stateConfigMap from the values"
is "$(jq -c '.policyReports' "$work/all.cfg")" true "policyReports.enabled: the config says policyReports: true"
is "$(cfg def | jq -c '[.quarantine.after, has("policyReports")]')" "[0,false]" "by default the config says quarantine.after: 0 (off), and no policyReports"
printf 'quarantine:\n  enabled: false\n  after: 5\n' > "$work/qoff-values.yaml"
render qoff --namespace runtime-verifier -f "$work/qoff-values.yaml"
is "$(cfg qoff | jq -c '.quarantine.after')" 0 "quarantine.after without quarantine.enabled: still after: 0"
is "$(jq -c '[.probe.image, .minInterval, .concurrency, .paths, .registry.insecure]' "$work/all.cfg")" \
	"$(yj "$ALL_ON" | jq -c '.config | [.probe.image, .minInterval, .concurrency, .paths, .registry.insecure]')" \
	"the config's other keys come from the values (probe image, minInterval, concurrency, paths, insecure registries)"
is "$(cfg def | jq -r '.probe.image')" "$(J def "$ctr | .image")" "config.probe.image \"\": the probe runs the verifier's own image"
# every rule the chart renders, as "NAMESPACE|KIND/NAME: group/resource[names]: verbs"
rules() { J "$1" '.items[] | select(.kind=="Role" or .kind=="ClusterRole") | . as $r | .rules[] |
	"\($r.metadata.namespace // "-")|\($r.kind)/\($r.metadata.name): \(.apiGroups[0])/\(.resources | join(","))\(if .resourceNames then "[" + (.resourceNames | join(",")) + "]" else "" end): \(.verbs | join(","))"'; }
rules def > "$work/def.rules"
rules all > "$work/all.rules"
check_fails "by default no rule for configmaps, pods/eviction or policyreports" grep -E 'configmaps|eviction|policyreports' "$work/def.rules"
is "$(grep configmaps "$work/all.rules")" \
	"rv-system|Role/runtime-verifier-quarantine-state: /configmaps[rv-quarantine-counts]: get,update
rv-system|Role/runtime-verifier-quarantine-state: /configmaps: create" \
	"quarantine: configmaps get/update of the state ConfigMap only (resourceNames) and create, in the release namespace"
is "$(J all '.items[] | select(.kind=="RoleBinding" and .metadata.name=="runtime-verifier-quarantine-state") | "\(.metadata.namespace) \(.roleRef.kind)/\(.roleRef.name) \(.subjects[0].namespace)/\(.subjects[0].name)"')" \
	"rv-system Role/runtime-verifier-quarantine-state rv-system/runtime-verifier" "bound to the ServiceAccount there"
is "$(grep -E 'eviction|policyreports' "$work/all.rules" | sort)" \
	"production|Role/runtime-verifier-eviction: /pods/eviction: create
production|Role/runtime-verifier-policy-reports: wgpolicyk8s.io/policyreports: create
production|Role/runtime-verifier-policy-reports: wgpolicyk8s.io/policyreports: get
production|Role/runtime-verifier-policy-reports: wgpolicyk8s.io/policyreports: update
staging|Role/runtime-verifier-eviction: /pods/eviction: create
staging|Role/runtime-verifier-policy-reports: wgpolicyk8s.io/policyreports: create
staging|Role/runtime-verifier-policy-reports: wgpolicyk8s.io/policyreports: get
staging|Role/runtime-verifier-policy-reports: wgpolicyk8s.io/policyreports: update" \
	"quarantine.evict and policyReports: pods/eviction create and policyreports get/create/update in each verified namespace"
is "$(grep -c 'pods: patch' "$work/all.rules")" 2 "labelling uses pods patch, already in the main rules (one per verified namespace)"
printf 'quarantine:\n  enabled: true\n' > "$work/q-values.yaml"
render q --namespace runtime-verifier -f "$work/q-values.yaml"
rules q > "$work/q.rules"
is "$(grep -c configmaps "$work/q.rules"):$(grep -c eviction "$work/q.rules")" "2:0" \
	"quarantine without evict: the state rules, no pods/eviction"
printf 'quarantine:\n  enabled: false\n  evict: true\n' > "$work/q2-values.yaml"
render q2 --namespace runtime-verifier -f "$work/q2-values.yaml"
is "$(rules q2 | grep -Ec 'configmaps|eviction')" 0 "evict without quarantine.enabled: nothing"
# bindings and references hold together, in every render
for r in def all cw q; do
	is "$(J $r '[.items[] | select(.kind=="RoleBinding" or .kind=="ClusterRoleBinding")] as $b
		| [.items[] | select(.kind=="Role" or .kind=="ClusterRole") | "\(.kind)/\(.metadata.namespace // "")/\(.metadata.name)"] as $roles
		| [$b[] | select(("\(.roleRef.kind)/\(if .roleRef.kind=="Role" then .metadata.namespace else "" end)/\(.roleRef.name)") as $k | $roles | index($k) | not) | .metadata.name] | join(" ")')" "" \
		"$r: every binding refers to a role the chart renders (a Role in the binding's namespace)"
	is "$(J $r '(.items[] | select(.kind=="ServiceAccount") | "\(.metadata.namespace)/\(.metadata.name)") as $sa
		| [.items[] | select(.kind=="RoleBinding" or .kind=="ClusterRoleBinding") | .subjects[] | "\(.namespace)/\(.name)" | select(. != $sa)] | length')" 0 \
		"$r: every binding's subject is the chart's ServiceAccount"
	is "$(J $r "[$ctr | .volumeMounts[].name] - [.items[] | select(.kind==\"CronJob\") | .spec.jobTemplate.spec.template.spec.volumes[].name] | length")" 0 \
		"$r: every volumeMount has its volume"
	is "$(J $r '.items[] | select(.kind=="CronJob") | .spec.jobTemplate.spec.template.spec.volumes[] | select(.configMap) | .configMap.name')" \
		"$(J $r '.items[] | select(.kind=="ConfigMap") | .metadata.name')" "$r: the config volume is the chart's ConfigMap"
done
# args from the values
is "$(J all -c "$ctr | .args")" \
	'["verify","--namespace=production","--namespace=staging","--label-selector=tier=critical,app!=canary","--fail-on-drift=true","--report-to=https://tickets.example.com/hooks/drift?team=sec","--webhook-secret-file=/var/run/secrets/runtime-verifier/hmac","--config=/etc/runtime-verifier/config.yaml","--spool-dir=/var/cache/runtime-verifier/spool","--cache-dir=/var/cache/runtime-verifier/images"]' \
	"all on: one --namespace per verified namespace, the selector, the webhook and its key file from the values"
is "$(J all "$ctr | .volumeMounts[] | select(.name==\"webhook\") | .mountPath")/$(J all '.items[] | select(.kind=="CronJob") | .spec.jobTemplate.spec.template.spec.volumes[] | select(.secret) | "\(.secret.secretName) \(.secret.items[0].path)"')" \
	"/var/run/secrets/runtime-verifier/drift-hook hmac" "the key file is webhook.secretKey of the Secret webhook.secretName"
is "$(J cw -c "$ctr | .args")" \
	'["verify","--all-namespaces","--fail-on-drift=false","--config=/etc/runtime-verifier/config.yaml","--spool-dir=/var/cache/runtime-verifier/spool","--cache-dir=/var/cache/runtime-verifier/images"]' \
	"cluster-wide, no selector, no webhook, failOnDrift false: the args say so, and no webhook volume"
is "$(J cw '[.items[] | select(.kind=="CronJob") | .spec.jobTemplate.spec.template.spec.volumes[].name] | join(",")')" "config,cache,tmp" \
	"(the volumes: config, cache, tmp)"
is "$(J all -c '.items[] | select(.kind=="CronJob") | [.spec.schedule, .spec.startingDeadlineSeconds, .spec.jobTemplate.spec.activeDeadlineSeconds, .spec.jobTemplate.spec.template.spec.containers[0].image, .spec.jobTemplate.spec.template.spec.containers[0].resources.limits.memory]')" \
	"$(yj "$ALL_ON" | jq -c '[.schedule, .startingDeadlineSeconds, .activeDeadlineSeconds, "\(.image.repository)@\(.image.digest)", .resources.limits.memory]')" \
	"schedule, deadlines, image (repository@digest) and resources come from the values"

# --- 5. the Kubernetes OpenAPI schema -----------------------------------------------------
if k8s_validator_setup; then
	for r in def all cw; do
		k8s_validate "$work/$r.json" > "$work/$r.valid" 2>&1
		rc=$?
		grep -v '^valid' "$work/$r.valid" | sed 's/^/# /'
		is "$rc" 0 "$r: every rendered object validates against the Kubernetes OpenAPI schema (kubernetes-models)"
		is "$(grep -c '^valid' "$work/$r.valid")" "$(J $r '[.items[] | select(.kind!="ClusterPolicy")] | length')" \
			"$r: all but Kyverno's ClusterPolicy have a schema and pass"
	done
	jq '(.items[] | select(.kind=="CronJob") | .spec.jobTemplate.spec.backoffLimit) = "none"' "$work/def.json" > "$work/broken.json"
	check_fails "a wrong type (backoffLimit: \"none\") is refused by the same validator" k8s_valid "$work/broken.json"
else
	not_ok "kubernetes-models could not be installed from the npm registry or loaded by this node: no schema validation"
fi

# --- 6. every value is documented ----------------------------------------------------------
# each key of values.yaml has a comment line right above it (a map's keys
# may share the map's), and a row in the README's table (resources and
# namespace.labels are documented as a whole)
cat > "$work/doccheck.py" <<'PY'
import sys, yaml
lines = open(sys.argv[1]).read().split("\n")
readme = open(sys.argv[2]).read()
WHOLE = {"resources", "namespace.labels"}
leaves = []
def walk(v, path):
    p = ".".join(path)
    if isinstance(v, dict) and v and p not in WHOLE:
        for k, sub in v.items():
            walk(sub, path + [k])
    else:
        leaves.append(p)
walk(yaml.safe_load("\n".join(lines)), [])
for p in leaves:
    if f"| `{p}` |" not in readme:
        print(f"README: no row for `{p}`")
stack = []
for i, ln in enumerate(lines):
    s = ln.lstrip(" ")
    if not s or s.startswith("#") or s.startswith("- ") or ":" not in s:
        continue
    ind = len(ln) - len(s)
    stack = [x for x in stack if x[0] < ind] + [(ind, s.split(":", 1)[0])]
    path = ".".join(k for _, k in stack)
    if any(path.startswith(w + ".") for w in WHOLE):
        continue
    if not lines[i - 1].strip().startswith("#") and not s.rstrip().endswith(":"):
        print(f"values.yaml: no comment above `{path}`")
PY
python3 "$work/doccheck.py" "$CHART/values.yaml" "$CHART/README.md" > "$work/undoc" 2>&1
is "$(cat "$work/undoc")" "" "every value has a comment in values.yaml and a row in the chart README's table"
grep -v '^| `cache.size` |' "$CHART/README.md" > "$work/README.md"
sed '/^  # Size of the PersistentVolumeClaim/d' "$CHART/values.yaml" > "$work/values.yaml"
is "$(python3 "$work/doccheck.py" "$work/values.yaml" "$work/README.md")" \
	"README: no row for \`cache.size\`
values.yaml: no comment above \`cache.size\`" "(the check finds a missing row and a missing comment)"

# --- 7. the cluster: apply the rendered RBAC, ask as the ServiceAccount ----------------------
T0=$(date +%s)
cluster_start
# as in the sandbox test, the CronJob, NetworkPolicy and PVC are checked
# above; the rest (with every option on) is applied as rendered. The CRDs the
# sandbox served: the PolicyReport one (tests/fixtures/crds) and Kyverno's
# ClusterPolicy, schema-less (Kyverno is not installed)
kubectl apply -f "$RV_TOP/tests/fixtures/crds/wgpolicyk8s.io_policyreports.yaml" > /dev/null
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
kubectl wait --for=condition=Established --timeout=60s crd/policyreports.wgpolicyk8s.io crd/clusterpolicies.kyverno.io > /dev/null
kubectl create namespace production > /dev/null
kubectl create namespace staging > /dev/null
kubectl create namespace elsewhere > /dev/null
J all '{items: [.items[] | select(.kind|IN("CronJob","NetworkPolicy","PersistentVolumeClaim")|not)]}' -c | to_yaml > "$work/apply.yaml"
check "kubectl apply -f the rendered Namespace, ServiceAccount, RBAC, ConfigMap and Kyverno policy (all on)" \
	sh -c 'kubectl apply -f "$1" > "$2" 2>&1' _ "$work/apply.yaml" "$work/apply.out"
sed 's/^/# /' "$work/apply.out" | head -30
is "$(kubectl get role runtime-verifier -n staging -o json | jq -S -c '.rules')" \
	"$(yj "$K8S/rbac/clusterrole.yaml" | jq -S -c '.rules')" "the Role reads back with k8s/'s rules"
is "$(kubectl get configmap runtime-verifier-config -n rv-system -o json | jq -r '.data["config.yaml"]')" \
	"$(J all -r '.items[] | select(.kind=="ConfigMap") | .data["config.yaml"]')" "the ConfigMap reads back as rendered"
SA=system:serviceaccount:rv-system:runtime-verifier
"$SCN" kubeconfig --user "$SA" > "$work/sa.kubeconfig"
can() { KUBECONFIG="$work/sa.kubeconfig" kubectl auth can-i "$@" 2> /dev/null; }
for q in "patch pods --subresource=ephemeralcontainers -n production" "list pods -n staging" "create events -n production" \
	"get secrets -n staging" "create pods --subresource=eviction -n production" "create policyreports.wgpolicyk8s.io -n staging" \
	"update policyreports.wgpolicyk8s.io -n production" "get configmaps/rv-quarantine-counts -n rv-system" \
	"update configmaps/rv-quarantine-counts -n rv-system" "create configmaps -n rv-system"; do
	is "$(can $q)" yes "as the chart's ServiceAccount: can $q"
done
for q in "patch pods --subresource=ephemeralcontainers -n elsewhere" "list pods -n elsewhere" "get secrets -n rv-system" \
	"get configmaps/runtime-verifier-config -n rv-system" "update configmaps/other -n rv-system" \
	"create pods --subresource=eviction -n elsewhere" "delete pods -n production" "create pods --subresource=exec -n production" \
	"create configmaps -n production"; do
	is "$(can $q)" no "and cannot $q"
done
# the default values (as release rv2): the config and args are accepted by the
# verifier itself, and its bindings let it list the pods
render d2 --namespace rv-system --name rv2
mkdir -p "$work/etc" "$work/cache"
J d2 '.items[] | select(.kind=="ConfigMap") | .data["config.yaml"]' > "$work/etc/config.yaml"
J d2 -c '{items: [.items[] | select(.kind|IN("ServiceAccount","ClusterRole","RoleBinding"))]}' | to_yaml > "$work/apply-d2.yaml"
check "kubectl apply -f the default render's ServiceAccount and RBAC (release rv2)" \
	sh -c 'kubectl apply -f "$1" > "$2" 2>&1' _ "$work/apply-d2.yaml" "$work/apply.out"
"$SCN" kubeconfig --user system:serviceaccount:rv-system:rv2 > "$work/rv2.kubeconfig"
mapfile -t cmd < <(J d2 --arg w "$work" "$ctr | .args | map(
	if startswith(\"--report-to=\") or startswith(\"--webhook-secret-file=\") then empty
	elif startswith(\"--config=\") then \"--config=\" + \$w + \"/etc/config.yaml\"
	elif startswith(\"--spool-dir=\") then \"--spool-dir=\" + \$w + \"/cache/spool\"
	elif startswith(\"--cache-dir=\") then \"--cache-dir=\" + \$w + \"/cache/images\"
	else . end) | .[]")
echo "# $RV ${cmd[*]} --kubeconfig rv2.kubeconfig"
"$RV" "${cmd[@]}" --kubeconfig "$work/rv2.kubeconfig" > "$work/out" 2> "$work/err"
rc=$?
sed 's/^/#   /' "$work/out" "$work/err" | head -10
is "$rc" 0 "the default CronJob's args with the rendered config file, as the chart's ServiceAccount: exit 0 (no pods yet)"
check_fails "no usage error, no config error, no 403" grep -Eiq "usage|config '|forbidden" "$work/err"

# every option on: the verifier accepts the rendered config (quarantine and
# policyReports keys included) and the chart's RBAC covers its requests.
# In a pod the quarantine state's namespace is the ServiceAccount's; here,
# outside one, it is given as quarantine.stateNamespace.
J all '.items[] | select(.kind=="ConfigMap") | .data["config.yaml"]' |
	python3 -c 'import sys, yaml; c = yaml.safe_load(sys.stdin); c["quarantine"]["stateNamespace"] = "rv-system"; print(yaml.safe_dump(c))' \
		> "$work/etc/config-all.yaml"
mapfile -t cmd < <(J all --arg w "$work" "$ctr | .args | map(
	if startswith(\"--report-to=\") or startswith(\"--webhook-secret-file=\") then empty
	elif startswith(\"--config=\") then \"--config=\" + \$w + \"/etc/config-all.yaml\"
	elif startswith(\"--spool-dir=\") then \"--spool-dir=\" + \$w + \"/cache/spool\"
	elif startswith(\"--cache-dir=\") then \"--cache-dir=\" + \$w + \"/cache/images\"
	else . end) | .[]")
echo "# $RV ${cmd[*]} --kubeconfig sa.kubeconfig"
"$RV" "${cmd[@]}" --kubeconfig "$work/sa.kubeconfig" > "$work/out" 2> "$work/err"
rc=$?
sed 's/^/#   /' "$work/out" "$work/err" | head -10
is "$rc" 0 "all on: the CronJob's args with the rendered config (quarantine, policyReports), as the chart's ServiceAccount: exit 0"
check_fails "no usage error, no config error, no 403" grep -Eiq "usage|config '|forbidden" "$work/err"
is "$(kubectl get policyreports -n staging -o json | jq -r '[.items[].metadata.name] | join(",")')" runtime-verifier \
	"and it wrote its PolicyReport in each verified namespace with the chart's policy-reports rules"

cluster_stop
echo "# chart_render_cluster.sh: cluster part $(($(date +%s) - T0))s (cluster up ${CLUSTER_UP_SECONDS}s, down ${CLUSTER_DOWN_SECONDS}s)"
done_testing
