#!/bin/bash
# kyverno_policy.sh - the shipped quarantine policy (k8s/kyverno) through the
# real Kyverno CLI (kubectl-kyverno, built by tests/cluster/build from
# github.com/kyverno/kyverno at the pinned version): a pod labelled
# runtime-verifier.io/quarantine=true gets a deny-all NetworkPolicy in its
# namespace; an unlabelled pod, a pod labelled "false" and a pod in an
# excluded namespace get none. The policy is not run by an in-cluster
# Kyverno here (docs/cluster.md says why).
source "$(dirname "$0")/../lib/tap.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
set -u

bin=$("$top/tests/cluster/build" --print-dir)/bin/kyverno
work=$(mktemp -d "${TMPDIR:-/tmp}/rv-kyverno.XXXXXX")
trap 'rm -rf "$work"' EXIT
if [ ! -x "$bin" ]; then
	not_ok "the Kyverno CLI is built ($bin is missing: run tests/cluster/build kyverno)"
	done_testing
	exit 1
fi
like "$("$bin" version 2>&1)" "Version: v1\.19\.1" "kubectl-kyverno is the pinned v1.19.1"

policy=$top/k8s/kyverno/quarantine-policy.yaml
mkdir -p "$work/gen"
"$bin" apply "$policy" --resource "$top/tests/fixtures/kyverno/pods.yaml" \
	-o "$work/gen" > "$work/out" 2> "$work/err"
rc=$?
sed 's/^/# /' "$work/err" "$work/out" | head -20
is "$rc" 0 "kyverno apply of the shipped policy succeeds"
like "$(cat "$work/out")" "pass: 1, fail: 0, warn: 0, error: 0" "one generate rule fired, none failed"
# the generated objects (-o writes them as YAML files), as one JSON list
python3 - "$work/gen" > "$work/gen.json" <<'PY'
import json, os, sys, yaml
docs = []
for name in sorted(os.listdir(sys.argv[1])):
    with open(os.path.join(sys.argv[1], name)) as f:
        docs += [d for d in yaml.safe_load_all(f) if isinstance(d, dict) and d.get("kind")]
print(json.dumps(docs))
PY
is "$(jq -c '[.[] | [.kind, .metadata.namespace, .metadata.name]]' "$work/gen.json")" \
	'[["NetworkPolicy","shop","runtime-verifier-quarantine"]]' \
	"exactly one NetworkPolicy, in the labelled pod's namespace (none for payments, billing, kube-system)"
is "$(jq -c '.[0].spec | [.podSelector, .policyTypes, has("ingress"), has("egress")]' "$work/gen.json")" \
	'[{"matchLabels":{"runtime-verifier.io/quarantine":"true"}},["Ingress","Egress"],false,false]' \
	"it selects the labelled pods and denies all ingress and egress (no allow rule)"
is "$(jq -r '.[0].metadata.labels["app.kubernetes.io/part-of"]' "$work/gen.json")" "runtime-verifier" \
	"it is labelled as runtime-verifier's"
done_testing
