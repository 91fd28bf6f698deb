{{/*
Named templates of the chart. Keep to the subset tests/lib/helm_render.py
implements (see its header).
*/}}

{{/* The verifier's image, by digest. Also the default probe image. */}}
{{- define "runtime-verifier.image" -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "runtime-verifier.labels" -}}
app.kubernetes.io/name: runtime-verifier
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: runtime-verifier
app.kubernetes.io/managed-by: Helm
{{- end }}

{{/* The labels that select the verifier's pods (NetworkPolicy). */}}
{{- define "runtime-verifier.selectorLabels" -}}
app.kubernetes.io/name: runtime-verifier
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* "true" when the rules are Roles in each verified namespace
     (rbac.namespacedRole, not with allNamespaces), "" otherwise. */}}
{{- define "runtime-verifier.useRoles" -}}
{{- if .Values.allNamespaces }}{{ else }}{{ if .Values.rbac.namespacedRole }}true{{ end }}{{ end }}
{{- end }}

{{/* "true" when quarantined pods are evicted (quarantine.enabled and .evict). */}}
{{- define "runtime-verifier.evict" -}}
{{- if .Values.quarantine.enabled }}{{ if .Values.quarantine.evict }}true{{ end }}{{ end }}
{{- end }}

{{/* The kind of the verifier's roles: Role or ClusterRole. */}}
{{- define "runtime-verifier.roleKind" -}}
{{- if include "runtime-verifier.useRoles" . }}Role{{ else }}ClusterRole{{ end }}
{{- end }}

{{/* The rules verify needs: exactly k8s/rbac/clusterrole.yaml's, with its
     comments (tests/scenario/chart_render_cluster.sh compares both). */}}
{{- define "runtime-verifier.rules" -}}
# rv_pods_list: GET /api/v1/namespaces/NS/pods?labelSelector=...&limit=500
# (paginated with continue): which pods to verify.
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list"]
# rv_pods_get: GET /api/v1/namespaces/NS/pods/NAME in
# rv_pods_wait_ephemeral (the poll when a watch fails or ends before the
# probe finished; the watch itself starts from the patch's answer) and in
# rv_pods_add_ephemeral (after a 5xx, to look whether the probe was added
# before trying again).
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get"]
# rv_pods_wait_ephemeral: GET /api/v1/namespaces/NS/pods?watch=1&
# fieldSelector=metadata.name=NAME: wait for the probe to terminate.
# Without it verify polls with GET once a second (slower, more requests).
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["watch"]
# rv_pods_patch_meta: PATCH /api/v1/namespaces/NS/pods/NAME
# (merge-patch) of the annotations runtime-verifier.io/last-verified
# (--min-interval) and runtime-verifier.io/probe-rejected (a probe that
# Pod Security refused is not retried blindly). Not needed with
# --no-annotate. With quarantine.after > 0 the same request sets and
# removes the label runtime-verifier.io/quarantine (lib/pipeline/quarantine.c).
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["patch"]
# rv_pods_add_ephemeral: PATCH .../pods/NAME/ephemeralcontainers
# (strategic-merge-patch): the probe container. The heart of verify.
- apiGroups: [""]
  resources: ["pods/ephemeralcontainers"]
  verbs: ["patch"]
# rv_pods_log: GET .../pods/NAME/log?container=rv-...&limitBytes=16777216:
# the probe's full manifest, read only when its root hash differs from
# the image's (drift or an incomplete walk).
- apiGroups: [""]
  resources: ["pods/log"]
  verbs: ["get"]
# rv_pods_event: POST /api/v1/namespaces/NS/events: DriftDetected and
# VerificationFailed Warning events on the pod. Not needed with
# --no-events.
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
{{- end }}

{{/* Pull secrets (k8s/rbac/pull-secrets.yaml): rv_pods_pull_secret: GET
     /api/v1/namespaces/NS/secrets/NAME, only for pods whose spec lists
     imagePullSecrets. Bound per namespace, never cluster-wide. */}}
{{- define "runtime-verifier.pullSecretsRules" -}}
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get"]
{{- end }}

{{/* Quarantine with quarantine.evict: evict the labelled pods
     (k8s/components/eviction/clusterrole.yaml). */}}
{{- define "runtime-verifier.evictRules" -}}
# POST /api/v1/namespaces/NS/pods/NAME/eviction, a policy/v1 Eviction
# with the pod's uid as a precondition: a quarantined pod owned by a
# controller is evicted (deleted, honouring PodDisruptionBudgets: a 429
# is reported as "blocked" and asked again next run) and its controller
# starts a fresh one from the image. Bare pods are never evicted.
- apiGroups: [""]
  resources: ["pods/eviction"]
  verbs: ["create"]
{{- end }}

{{/* The quarantine's state ConfigMap, in the release namespace: the rules
     of k8s/rbac/quarantine-state.yaml, for quarantine.stateConfigMap. */}}
{{- define "runtime-verifier.quarantineStateRules" -}}
# state_get: GET /api/v1/namespaces/runtime-verifier/configmaps/
# runtime-verifier-state: the counts so far (404 before the first run).
# state_put: PUT of the same path with metadata.resourceVersion: the
# counts after this run; a 409 Conflict (another run wrote first) makes
# verify read again and re-apply. Limited to that one ConfigMap.
- apiGroups: [""]
  resources: ["configmaps"]
  resourceNames: [{{ .Values.quarantine.stateConfigMap | quote }}]
  verbs: ["get", "update"]
# state_put: POST /api/v1/namespaces/runtime-verifier/configmaps, once,
# when the ConfigMap does not exist yet. create cannot be limited by
# resourceNames (the name is not known when it is authorized): this
# allows creating any ConfigMap in the verifier's own namespace, nothing
# elsewhere. Remove it after the first run if that matters to you.
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["create"]
{{- end }}

{{/* policyReports: one PolicyReport per verified namespace
     (k8s/components/policy-reports/clusterrole.yaml). */}}
{{- define "runtime-verifier.policyReportsRules" -}}
# GET /apis/wgpolicyk8s.io/v1alpha2/namespaces/NS/policyreports/runtime-verifier:
# is there a report to replace, and at which resourceVersion.
- apiGroups: ["wgpolicyk8s.io"]
  resources: ["policyreports"]
  verbs: ["get"]
# POST .../namespaces/NS/policyreports: the namespace's first report.
- apiGroups: ["wgpolicyk8s.io"]
  resources: ["policyreports"]
  verbs: ["create"]
# PUT .../policyreports/runtime-verifier (with metadata.resourceVersion):
# each later run replaces the results with its own.
- apiGroups: ["wgpolicyk8s.io"]
  resources: ["policyreports"]
  verbs: ["update"]
{{- end }}
