#!/bin/bash
# sandbox_api.sh - the sandbox API server speaks the Kubernetes API as the
# real one does: TLS with its own CA, 401/403/404/409/410/422/429/500 Status
# objects, selectors, pagination, patches, watch, events, custom resources,
# deployments. No kubelet here (pods stay Pending): tests/scenario/sandbox_kubelet.sh
# and sandbox_kubectl.sh cover the containers.
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/../sandbox/lib.sh"

sandbox_start --no-kubelet

# --- TLS and authentication -------------------------------------------------
out=$(curl -sS --cacert /etc/ssl/certs/ca-certificates.crt "$SANDBOX_SERVER/version" 2>&1)
like "$out" "certificate|SSL" "server certificate is not trusted without the sandbox CA"
is "$(openssl x509 -in "$SANDBOX_DIR/server.crt" -noout -ext subjectAltName 2>/dev/null | grep -c 'IP Address:127.0.0.1')" 1 \
	"server certificate names 127.0.0.1"
body=$(TOKEN=nope sbx_curl GET /api/v1/namespaces/default/pods)
is "$(tail -n1 <<<"$body")" "HTTP 401" "a bad token gets 401"
is "$(sed '$d' <<<"$body" | jq -c .)" \
	'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}' \
	"401 body is the real Status object"
is "$(sbx_json GET /version | jq -r .gitVersion)" "v1.32.0-sandbox" "/version answers"
like "$(sbx_json GET /api | jq -c .versions)" '\["v1"\]' "/api lists v1"
like "$(sbx_json GET /apis | jq -r '.groups[].name' | tr '\n' ' ')" "apps .*rbac.authorization.k8s.io .*wgpolicyk8s.io" "/apis lists apps, rbac and the PolicyReport group"
is "$(sbx_json GET /api/v1 | jq -r '.resources[] | select(.name=="pods/ephemeralcontainers") | .verbs | join(",")')" \
	"get,patch,update" "/api/v1 lists pods/ephemeralcontainers"

# --- RBAC ---------------------------------------------------------------------
VTOK=$("$SBX" token --user system:serviceaccount:rv:verifier)
"$SBX" bind --user system:serviceaccount:rv:verifier --clusterrole view --namespace default
body=$(TOKEN=$VTOK sbx_curl GET /api/v1/namespaces/default/pods)
is "$(tail -n1 <<<"$body")" "HTTP 200" "a RoleBinding to view lets the service account list pods in default"
body=$(TOKEN=$VTOK sbx_curl GET /api/v1/namespaces/kube-system/pods)
is "$(tail -n1 <<<"$body")" "HTTP 403" "but not in kube-system"
is "$(sed '$d' <<<"$body" | jq -r .message)" \
	'pods is forbidden: User "system:serviceaccount:rv:verifier" cannot list resource "pods" in API group "" in the namespace "kube-system"' \
	"403 message names user, verb, resource, group and namespace as the real server does"
is "$(sed '$d' <<<"$body" | jq -c '[.reason,.code,.details.kind]')" '["Forbidden",403,"pods"]' "403 reason, code and details"
body=$(TOKEN=$VTOK sbx_curl PATCH /api/v1/namespaces/default/pods/x/ephemeralcontainers -H 'Content-Type: application/strategic-merge-patch+json' -d '{}')
is "$(sed '$d' <<<"$body" | jq -r .message)" \
	'pods "x" is forbidden: User "system:serviceaccount:rv:verifier" cannot patch resource "pods/ephemeralcontainers" in API group "" in the namespace "default"' \
	"subresources are authorized separately"
body=$(TOKEN=$VTOK sbx_curl GET /api/v1/nodes)
like "$(sed '$d' <<<"$body" | jq -r .message)" 'cannot list resource "nodes" in API group "" at the cluster scope$' "cluster-scope 403 wording"
# a ClusterRole with exactly the verifier's rules, applied as YAML would be
sbx_json POST /apis/rbac.authorization.k8s.io/v1/clusterroles -H 'Content-Type: application/json' -d '{
  "apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"rv-test"},
  "rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["get","list","watch","patch"]},
           {"apiGroups":[""],"resources":["pods/ephemeralcontainers"],"verbs":["patch"]},
           {"apiGroups":[""],"resources":["events"],"verbs":["create"]},
           {"apiGroups":[""],"resources":["configmaps"],"verbs":["get"],"resourceNames":["rv-state"]}]}' >/dev/null
"$SBX" bind --user alice --clusterrole rv-test
ATOK=$("$SBX" token --user alice)
is "$(TOKEN=$ATOK sbx_code GET /api/v1/pods)" 200 "ClusterRoleBinding: alice lists pods in all namespaces"
is "$(TOKEN=$ATOK sbx_code GET /api/v1/namespaces/default/configmaps/other)" 403 "resourceNames restricts get to the named object"
is "$(TOKEN=$ATOK sbx_code GET /api/v1/namespaces/default/configmaps/rv-state)" 404 "the named one is allowed (and absent: 404)"
is "$(TOKEN=$ATOK sbx_code DELETE /api/v1/namespaces/default/pods/x)" 403 "delete is not granted"
ssar=$(TOKEN=$ATOK sbx_json POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews -H 'Content-Type: application/json' \
	-d '{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","spec":{"resourceAttributes":{"verb":"patch","resource":"pods","subresource":"ephemeralcontainers","namespace":"x"}}}')
is "$(jq -r .status.allowed <<<"$ssar")" true "SelfSubjectAccessReview answers from the same RBAC"
# RBAC objects are named by path segments, as upstream's ValidateRBACName:
# "system:controller:x" is a valid name, "/" and "%" are not
rbc=/apis/rbac.authorization.k8s.io/v1
is "$(sbx_code POST $rbc/clusterroles -H 'Content-Type: application/json' -d '{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"system:controller:rv-test"},"rules":[{"apiGroups":[""],"resources":["namespaces"],"verbs":["list"]}]}')" \
	201 "a ClusterRole named system:controller:rv-test is accepted"
is "$(sbx_code POST $rbc/clusterrolebindings -H 'Content-Type: application/json' -d '{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"system:controller:rv-test"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"system:controller:rv-test"},"subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"system:kube-controller-manager"}]}')" \
	201 "and so is a ClusterRoleBinding of that name"
is "$(TOKEN=$("$SBX" token --user system:kube-controller-manager) sbx_code GET /api/v1/namespaces)" 200 \
	"the binding grants what the role says"
is "$(sbx_json GET "$rbc/clusterroles/system:controller:rv-test" | jq -r .metadata.name)" "system:controller:rv-test" \
	"read back by its name in the URL"
is "$(sbx_code POST $rbc/namespaces/default/roles -H 'Content-Type: application/json' -d '{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":"rv:role"},"rules":[]}')" \
	201 "a Role with a colon in its name is accepted"
body=$(sbx_curl POST $rbc/clusterroles -H 'Content-Type: application/json' -d '{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"a%b"},"rules":[]}')
is "$(tail -n1 <<<"$body") $(sed '$d' <<<"$body" | jq -r .message)" \
	"HTTP 422 ClusterRole \"a%b\" is invalid: metadata.name: Invalid value: \"a%b\": may not contain '%'" \
	"a name with % is refused as the real server words it"
is "$(sbx_code POST /api/v1/namespaces/default/configmaps -H 'Content-Type: application/json' -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a:b"}}')" \
	422 "other objects keep DNS subdomain names: a ConfigMap named a:b is refused"

TTOK=$("$SBX" token --user carol --ttl 3)
is "$(TOKEN=$TTOK sbx_code GET /api)" 200 "a token with --ttl works"
sleep 3.2
is "$(TOKEN=$TTOK sbx_code GET /api)" 401 "and is refused once expired (a bound token that was not re-read)"
eval "$("$SBX" sa-files --user system:serviceaccount:rv:verifier "$SANDBOX_DIR/sa")"
is "$(cat "$SANDBOX_DIR/sa/namespace")" "rv" "sa-files writes namespace"
is "$(curl -sS --cacert "$SANDBOX_DIR/sa/ca.crt" -H "Authorization: Bearer $(cat "$SANDBOX_DIR/sa/token")" -o /dev/null -w '%{http_code}' \
	"https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/api/v1/namespaces/default/pods")" 200 \
	"and token + ca.crt + KUBERNETES_SERVICE_HOST/PORT reach the API as that service account"

# --- objects, 404/409/422 -----------------------------------------------------------
body=$(sbx_curl GET /api/v1/namespaces/default/pods/nope)
is "$(sed '$d' <<<"$body" | jq -c .)" \
	'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \"nope\" not found","reason":"NotFound","details":{"name":"nope","kind":"pods"},"code":404}' \
	"404 is the real Status object"
sbx_json POST /api/v1/namespaces -H 'Content-Type: application/json' \
	-d '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"t1","labels":{"pod-security.kubernetes.io/enforce":"restricted"}}}' >/dev/null
is "$(sbx_json GET /api/v1/namespaces/t1 | jq -r '.metadata.labels["kubernetes.io/metadata.name"] + " " + .status.phase')" "t1 Active" \
	"namespaces get the metadata.name label and phase Active"
cm='{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c1"},"data":{"a":"1"}}'
created=$(sbx_json POST /api/v1/namespaces/t1/configmaps -H 'Content-Type: application/json' -d "$cm")
rv1=$(jq -r .metadata.resourceVersion <<<"$created")
like "$(jq -r .metadata.uid <<<"$created")" '^[0-9a-f-]{36}$' "created objects get a uid"
like "$(jq -r .metadata.creationTimestamp <<<"$created")" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' "and an RFC 3339 creationTimestamp"
body=$(sbx_curl POST /api/v1/namespaces/t1/configmaps -H 'Content-Type: application/json' -d "$cm")
is "$(sed '$d' <<<"$body" | jq -c '[.reason,.code,.message]')" '["AlreadyExists",409,"configmaps \"c1\" already exists"]' "create twice: 409 AlreadyExists"
upd=$(jq -c '.data.a="2"' <<<"$created")
up1=$(sbx_json PUT /api/v1/namespaces/t1/configmaps/c1 -H 'Content-Type: application/json' -d "$upd")
rv2=$(jq -r .metadata.resourceVersion <<<"$up1")
check "resourceVersion increases on every write ($rv1 < $rv2)" test "$rv2" -gt "$rv1"
body=$(sbx_curl PUT /api/v1/namespaces/t1/configmaps/c1 -H 'Content-Type: application/json' -d "$upd")
is "$(sed '$d' <<<"$body" | jq -r '.reason + " " + (.code|tostring)')" "Conflict 409" "an update with a stale resourceVersion: 409 Conflict"
is "$(sed '$d' <<<"$body" | jq -r .message)" \
	'Operation cannot be fulfilled on configmaps "c1": the object has been modified; please apply your changes to the latest version and try again' \
	"Conflict message as the real server's"
sbx_json POST /api/v1/namespaces/t1/secrets -H 'Content-Type: application/json' \
	-d '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s1"},"stringData":{"k":"v"}}' >/dev/null
is "$(sbx_json GET /api/v1/namespaces/t1/secrets/s1 | jq -r '.data.k + " " + .type')" "dg== Opaque" "secrets: stringData becomes base64 data"
is "$(sbx_code DELETE /api/v1/namespaces/t1/secrets/s1)" 200 "delete a secret"
is "$(sbx_code GET /api/v1/namespaces/t1/secrets/s1)" 404 "and it is gone"
body=$(sbx_curl POST /api/v1/namespaces/t1/configmaps -H 'Content-Type: application/json' -d '{"metadata":{"name":"Bad_Name"}}')
is "$(sed '$d' <<<"$body" | jq -r '.reason + " " + .details.causes[0].field')" "Invalid metadata.name" "an invalid name: 422 with the field in causes"

# --- pods: selectors, pagination ------------------------------------------------
mkpod() { # ns name labels-json
	sbx_json POST "/api/v1/namespaces/$1/pods" -H 'Content-Type: application/json' -d "{\"metadata\":{\"name\":\"$2\",\"labels\":$3},
	  \"spec\":{\"containers\":[{\"name\":\"app\",\"image\":\"127.0.0.1:1/x:v1\"}]}}" >/dev/null
}
mkpod default p1 '{"app":"a","tier":"web"}'
mkpod default p2 '{"app":"b","tier":"db"}'
mkpod default p3 '{"app":"b","tier":"api"}'
mkpod default p4 '{"app":"c"}'
mkpod default p5 '{"other":"x"}'
names() { jq -r '[.items[].metadata.name] | join(",")'; }
sel() { sbx_json GET "/api/v1/namespaces/default/pods?labelSelector=$(jq -rn --arg s "$1" '$s|@uri')" | names; }
is "$(sel 'app=a')" "p1" "labelSelector ="
is "$(sel 'app==b')" "p2,p3" "labelSelector =="
is "$(sel 'app!=b')" "p1,p4,p5" "labelSelector != (includes pods without the key)"
is "$(sel 'app in (a,b),tier!=db')" "p1,p3" "labelSelector in + !="
is "$(sel 'app notin (a,b)')" "p4,p5" "labelSelector notin"
is "$(sel 'tier')" "p1,p2,p3" "labelSelector exists"
is "$(sel '!tier')" "p4,p5" "labelSelector !key"
body=$(sbx_curl GET "/api/v1/namespaces/default/pods?labelSelector=app%20in%20a")
is "$(sed '$d' <<<"$body" | jq -r '.reason + " " + (.code|tostring)')" "BadRequest 400" "a malformed selector: 400"
is "$(sbx_json GET /api/v1/namespaces/default/pods | jq -c '[.kind, .apiVersion, (.items[0] | has("kind") or has("apiVersion"))]')" \
	'["PodList","v1",false]' "a PodList's items carry no kind/apiVersion, as the real server's"
is "$(sbx_json GET '/api/v1/namespaces/default/pods?fieldSelector=metadata.name%3Dp2' | names)" "p2" "fieldSelector metadata.name"
is "$(sbx_json GET '/api/v1/namespaces/default/pods?fieldSelector=status.phase%3DPending,metadata.name!%3Dp1' | names)" "p2,p3,p4,p5" "fieldSelector status.phase and !="
is "$(sbx_json GET '/api/v1/namespaces/default/pods?fieldSelector=spec.foo%3D1' | jq -r .message)" "field label not supported: spec.foo" "unsupported field: 400 with the real message"
page1=$(sbx_json GET '/api/v1/namespaces/default/pods?limit=2')
c1=$(jq -r .metadata.continue <<<"$page1")
is "$(names <<<"$page1") $(jq -r .metadata.remainingItemCount <<<"$page1")" "p1,p2 3" "limit=2: first page, continue token and remainingItemCount"
page2=$(sbx_json GET "/api/v1/namespaces/default/pods?limit=2&continue=$c1")
page3=$(sbx_json GET "/api/v1/namespaces/default/pods?limit=2&continue=$(jq -r .metadata.continue <<<"$page2")")
is "$(names <<<"$page2")/$(names <<<"$page3")/$(jq -r '.metadata.continue // "none"' <<<"$page3")" "p3,p4/p5/none" "continue walks every page and the last one has no token"
"$SBX" fault continue_ttl=1
sleep 1.2
body=$(sbx_curl GET "/api/v1/namespaces/default/pods?limit=2&continue=$c1")
is "$(sed '$d' <<<"$body" | jq -r '.reason + " " + (.code|tostring)')" "Expired 410" "an old continue token: 410 Expired"
like "$(sed '$d' <<<"$body" | jq -r .message)" "^The provided continue parameter is too old" "with the real message"
"$SBX" fault clear

# --- patches ---------------------------------------------------------------------
r=$(sbx_json PATCH /api/v1/namespaces/default/pods/p1 -H 'Content-Type: application/merge-patch+json' -d '{"metadata":{"labels":{"new":"1","tier":null}}}')
is "$(jq -c .metadata.labels <<<"$r")" '{"app":"a","new":"1"}' "merge patch adds and removes labels"
r=$(sbx_json PATCH /api/v1/namespaces/default/pods/p1 -H 'Content-Type: application/strategic-merge-patch+json' -d '{"metadata":{"annotations":{"a":"b"},"labels":{"s":"2"}}}')
is "$(jq -c '[.metadata.labels,.metadata.annotations]' <<<"$r")" '[{"app":"a","new":"1","s":"2"},{"a":"b"}]' "strategic merge patch merges labels and annotations"
r=$(sbx_json PATCH /api/v1/namespaces/default/pods/p1 -H 'Content-Type: application/json-patch+json' -d '[{"op":"add","path":"/metadata/labels/j","value":"p"}]')
is "$(jq -r .metadata.labels.j <<<"$r")" p "json patch"
body=$(sbx_curl PATCH /api/v1/namespaces/default/pods/p1 -H 'Content-Type: application/merge-patch+json' -d '{"spec":{"restartPolicy":"Never"}}')
is "$(sed '$d' <<<"$body" | jq -r '.reason + " " + .details.causes[0].field')" "Invalid spec" "pod spec fields are immutable: 422"
body=$(sbx_curl PATCH /api/v1/namespaces/default/pods/p1 -H 'Content-Type: text/plain' -d '{}')
is "$(tail -n1 <<<"$body")" "HTTP 415" "unknown patch type: 415"

# --- ephemeral containers: validation and Pod Security ------------------------------------
ec() { sbx_curl PATCH "/api/v1/namespaces/$1/pods/$2/ephemeralcontainers" -H 'Content-Type: application/strategic-merge-patch+json' -d "$3"; }
r=$(ec default p2 '{"spec":{"ephemeralContainers":[{"name":"dbg","image":"127.0.0.1:1/t:v1","targetContainerName":"app"}]}}')
is "$(tail -n1 <<<"$r")" "HTTP 200" "append an ephemeral container"
is "$(sed '$d' <<<"$r" | jq -r '.spec.ephemeralContainers[0] | .terminationMessagePath + " " + .terminationMessagePolicy')" \
	"/dev/termination-log File" "defaults terminationMessagePath and policy"
r=$(ec default p2 '{"spec":{"ephemeralContainers":[{"name":"dbg2","image":"127.0.0.1:1/t:v1"}]}}')
is "$(sed '$d' <<<"$r" | jq -r '[.spec.ephemeralContainers[].name] | join(",")')" "dbg,dbg2" "strategic merge appends by name"
r=$(ec default p2 '{"spec":{"ephemeralContainers":[{"name":"dbg","image":"127.0.0.1:1/other:v2"}]}}')
is "$(sed '$d' <<<"$r" | jq -r '.reason + " " + .details.causes[0].field')" "Invalid spec.ephemeralContainers" "changing an existing one: 422"
like "$(sed '$d' <<<"$r" | jq -r .message)" 'existing ephemeral containers "dbg" may not be changed' "names the container"
r=$(sbx_curl PUT /api/v1/namespaces/default/pods/p2/ephemeralcontainers -H 'Content-Type: application/json' \
	-d "$(sbx_json GET /api/v1/namespaces/default/pods/p2 | jq -c '.spec.ephemeralContainers=[]')")
like "$(sed '$d' <<<"$r" | jq -r .message)" 'existing ephemeral containers "dbg" may not be removed' "removing one (PUT): 422"
r=$(ec default p2 '{"spec":{"ephemeralContainers":[{"name":"app","image":"127.0.0.1:1/t:v1"}]}}')
is "$(sed '$d' <<<"$r" | jq -c '.details.causes[0]')" \
	'{"reason":"FieldValueDuplicate","message":"Duplicate value: \"app\"","field":"spec.ephemeralContainers[2].name"}' "a name used by a container: Duplicate"
r=$(ec default p2 '{"spec":{"ephemeralContainers":[{"name":"bad","image":"127.0.0.1:1/t:v1","ports":[{"containerPort":80}],"resources":{"limits":{"cpu":"1"}},"readinessProbe":{"exec":{"command":["true"]}},"volumeMounts":[{"name":"v","mountPath":"/v","subPath":"x"}]}]}}')
is "$(sed '$d' <<<"$r" | jq -r '[.details.causes[].field] | join(" ")')" \
	"spec.ephemeralContainers[2].ports spec.ephemeralContainers[2].resources spec.ephemeralContainers[2].readinessProbe spec.ephemeralContainers[2].volumeMounts[0].subPath" \
	"forbidden fields: one cause each"
like "$(sed '$d' <<<"$r" | jq -r .message)" '^Pod "p2" is invalid: \[spec.ephemeralContainers\[2\].ports: Forbidden: cannot be set for an Ephemeral Container, ' "422 message in the aggregate format"
mkpod t1 r1 '{"app":"r"}' # rejected: restricted namespace, non-compliant pod
body=$(sbx_curl POST /api/v1/namespaces/t1/pods -H 'Content-Type: application/json' -d '{"metadata":{"name":"r1"},"spec":{"containers":[{"name":"app","image":"127.0.0.1:1/x:v1"}]}}')
is "$(sed '$d' <<<"$body" | jq -r .message)" \
	'pods "r1" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "app" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "app" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "app" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")' \
	"Pod Security on create: the real message"
good='{"metadata":{"name":"r2"},"spec":{"securityContext":{"runAsNonRoot":true,"runAsUser":1000,"seccompProfile":{"type":"RuntimeDefault"}},"containers":[{"name":"app","image":"127.0.0.1:1/x:v1","securityContext":{"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]}}}]}}'
is "$(sbx_code POST /api/v1/namespaces/t1/pods -H 'Content-Type: application/json' -d "$good")" 201 "a restricted-compliant pod is admitted"
r=$(ec t1 r2 '{"spec":{"ephemeralContainers":[{"name":"debugger-abc","image":"127.0.0.1:1/t:v1","securityContext":{"capabilities":{"add":["SYS_PTRACE"]}}}]}}')
is "$(tail -n1 <<<"$r")" "HTTP 403" "a non-compliant ephemeral container in a restricted namespace: 403"
is "$(sed '$d' <<<"$r" | jq -r .message)" \
	'pods "r2" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "debugger-abc" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "debugger-abc" must set securityContext.capabilities.drop=["ALL"]; container "debugger-abc" must not include "SYS_PTRACE" in securityContext.capabilities.add)' \
	"the violation is named as the real admission names it"
r=$(ec t1 r2 '{"spec":{"ephemeralContainers":[{"name":"probe","image":"127.0.0.1:1/t:v1","securityContext":{"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]},"runAsUser":1000}}]}}')
is "$(tail -n1 <<<"$r")" "HTTP 200" "a compliant (uid-mirroring) ephemeral container is admitted"
sbx_json PATCH /api/v1/namespaces/t1 -H 'Content-Type: application/merge-patch+json' -d '{"metadata":{"labels":{"pod-security.kubernetes.io/enforce":"baseline"}}}' >/dev/null
r=$(ec t1 r2 '{"spec":{"ephemeralContainers":[{"name":"hostile","image":"127.0.0.1:1/t:v1","securityContext":{"privileged":true}}]}}')
is "$(sed '$d' <<<"$r" | jq -r .message)" \
	'pods "r2" is forbidden: violates PodSecurity "baseline:latest": privileged (container "hostile" must not set securityContext.privileged=true)' \
	"baseline: privileged is refused"
r=$(ec t1 r2 '{"spec":{"ephemeralContainers":[{"name":"rootdbg","image":"127.0.0.1:1/t:v1","securityContext":{"runAsUser":0}}]}}')
is "$(tail -n1 <<<"$r")" "HTTP 200" "baseline admits a root debug container"
sbx_json PATCH /api/v1/namespaces/t1 -H 'Content-Type: application/merge-patch+json' -d '{"metadata":{"labels":{"pod-security.kubernetes.io/enforce":"restricted"}}}' >/dev/null
r=$(ec t1 r2 '{"spec":{"ephemeralContainers":[{"name":"probe2","image":"127.0.0.1:1/t:v1","securityContext":{"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]},"runAsUser":1000}}]}}')
is "$(sed '$d' <<<"$r" | jq -r .message)" \
	'pods "r2" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "rootdbg" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "rootdbg" must set securityContext.capabilities.drop=["ALL"]), runAsUser=0 (container "rootdbg" must not set runAsUser=0)' \
	"the whole pod is judged: an old non-compliant ephemeral container makes a compliant new one rejected"

# --- events -------------------------------------------------------------------------
ev='{"apiVersion":"v1","kind":"Event","metadata":{"name":"p1.drift"},"involvedObject":{"kind":"Pod","namespace":"default","name":"p1"},"reason":"Drift","message":"3 files changed","type":"Warning","source":{"component":"runtime-verifier"}}'
is "$(sbx_code POST /api/v1/namespaces/default/events -H 'Content-Type: application/json' -d "$ev")" 201 "create an event"
is "$(sbx_json GET '/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dp1,reason%3DDrift' | jq -r '.items[0].message + " " + (.items[0].count|tostring)')" \
	"3 files changed 1" "list events by involvedObject.name and reason"

ev2=$(sbx_json GET '/apis/events.k8s.io/v1/namespaces/default/events?fieldSelector=regarding.name%3Dp1')
is "$(jq -r '.kind + " " + .apiVersion + " " + .items[0].note + " " + .items[0].regarding.name + " " + .items[0].deprecatedSource.component' <<<"$ev2")" \
	"EventList events.k8s.io/v1 3 files changed p1 runtime-verifier" "events.k8s.io/v1 is a view of the same events (note, regarding, deprecatedSource)"
new2='{"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"name":"p1.new"},"eventTime":"2026-01-01T00:00:00.000000Z","reportingController":"rv.example/verifier","reportingInstance":"rv-1","action":"Verify","reason":"DriftDetected","regarding":{"kind":"Pod","namespace":"default","name":"p1"},"note":"drift","type":"Warning"}'
is "$(sbx_code POST /apis/events.k8s.io/v1/namespaces/default/events -H 'Content-Type: application/json' -d "$new2")" 201 "create an events.k8s.io/v1 Event"
is "$(sbx_json GET /api/v1/namespaces/default/events/p1.new | jq -r '.message + " " + .involvedObject.name + " " + .reportingComponent')" \
	"drift p1 rv.example/verifier" "and read it as a core/v1 Event"
# typed fields: a JSON value of the wrong type fails the decode (400), as in
# the real server, before any validation
evbad() { # FIELD-JSON: POST an Event with that field merged in
	jq -c --argjson f "$1" '.metadata.name = "p1.typed" | . * $f' <<<"$ev" |
		sbx_curl POST /api/v1/namespaces/default/events -H 'Content-Type: application/json' -d @-
}
body=$(evbad '{"message":{"files":3}}')
is "$(tail -n1 <<<"$body") $(sed '$d' <<<"$body" | jq -r '.reason + ": " + .message')" \
	'HTTP 400 BadRequest: Event in version "v1" cannot be handled as a Event: json: cannot unmarshal object into Go struct field Event.message of type string' \
	"an Event whose message is a JSON object: 400 BadRequest, cannot unmarshal"
like "$(evbad '{"count":"1"}' | sed '$d' | jq -r .message)" 'cannot unmarshal string into Go struct field Event.count of type int32' \
	"a count that is a string: refused"
like "$(evbad '{"involvedObject":{"name":7}}' | sed '$d' | jq -r .message)" \
	'cannot unmarshal number into Go struct field ObjectReference.involvedObject.name of type string' "a nested field of the wrong type: refused, with its path"
like "$(evbad '{"metadata":{"labels":{"a":1}}}' | sed '$d' | jq -r .message)" \
	'cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string' "a label value that is not a string: refused"
is "$(sbx_code GET /api/v1/namespaces/default/events/p1.typed)" 404 "and none of them was stored"

# --- custom resources, deployments ----------------------------------------------------------
pr='{"apiVersion":"wgpolicyk8s.io/v1alpha2","kind":"PolicyReport","metadata":{"name":"rv-p1"},"summary":{"fail":1},"results":[{"policy":"runtime-drift","result":"fail"}]}'
is "$(sbx_code POST /apis/wgpolicyk8s.io/v1alpha2/namespaces/default/policyreports -H 'Content-Type: application/json' -d "$pr")" 201 "create a PolicyReport"
is "$(sbx_json GET /apis/wgpolicyk8s.io/v1alpha2/namespaces/default/policyreports | jq -r '.kind + " " + .items[0].results[0].result')" \
	"PolicyReportList fail" "list PolicyReports"
sbx_json POST /apis/apiextensions.k8s.io/v1/customresourcedefinitions -H 'Content-Type: application/json' -d '{
 "apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"widgets.example.com"},
 "spec":{"group":"example.com","scope":"Namespaced","names":{"plural":"widgets","singular":"widget","kind":"Widget"},
 "versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object"}}}]}}' >/dev/null
is "$(sbx_code POST /apis/example.com/v1/namespaces/default/widgets -H 'Content-Type: application/json' -d '{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"n":1}}')" \
	201 "a CRD created at run time serves its resource"
dep='{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"app","image":"127.0.0.1:1/x:v1"}]}}}}'
is "$(sbx_code POST /apis/apps/v1/namespaces/default/deployments -H 'Content-Type: application/json' -d "$dep")" 201 "create a deployment"
for _ in $(seq 50); do
	n=$(sbx_json GET '/api/v1/namespaces/default/pods?labelSelector=app%3Dweb' | jq '.items | length')
	[ "$n" = 2 ] && break
	sleep 0.1
done
pods=$(sbx_json GET '/api/v1/namespaces/default/pods?labelSelector=app%3Dweb')
rs=$(sbx_json GET /apis/apps/v1/namespaces/default/replicasets)
is "$(jq '.items | length' <<<"$pods")" 2 "the deployment's replicaset made 2 pods"
is "$(jq -r '[.items[].metadata.ownerReferences[0] | .kind + "/" + .name] | unique | join(",")' <<<"$pods")" \
	"ReplicaSet/$(jq -r '.items[0].metadata.name' <<<"$rs")" "pods are owned by the replicaset"
is "$(jq -r '.items[0].metadata.ownerReferences[0] | .kind + "/" + .name + " " + (.controller|tostring)' <<<"$rs")" \
	"Deployment/web true" "the replicaset is owned by the deployment"
like "$(jq -r '.items[0].metadata.labels["pod-template-hash"]' <<<"$pods")" '^[a-z0-9]{10}$' "pods carry pod-template-hash"
sc=$(sbx_json PATCH /apis/apps/v1/namespaces/default/deployments/web/scale -H 'Content-Type: application/merge-patch+json' -d '{"spec":{"replicas":3}}')
is "$(jq -r '.kind + " " + .apiVersion + " " + (.spec.replicas|tostring) + " " + .status.selector' <<<"$sc")" "Scale autoscaling/v1 3 app=web" "the scale subresource"
for _ in $(seq 50); do
	n=$(sbx_json GET '/api/v1/namespaces/default/pods?labelSelector=app%3Dweb' | jq '.items | length')
	[ "$n" = 3 ] && break
	sleep 0.1
done
is "$n" 3 "scaling the deployment to 3 makes a third pod"

# --- watch ------------------------------------------------------------------------------
rv=$(sbx_json GET /api/v1/namespaces/default/pods | jq -r .metadata.resourceVersion)
sbx_curl GET "/api/v1/namespaces/default/pods?watch=true&resourceVersion=$rv&timeoutSeconds=3&fieldSelector=metadata.name%3Dp4" -N >"$SANDBOX_DIR/watch.out" &
wpid=$!
sleep 0.5
sbx_json PATCH /api/v1/namespaces/default/pods/p3 -H 'Content-Type: application/merge-patch+json' -d '{"metadata":{"labels":{"w":"1"}}}' >/dev/null
sbx_json PATCH /api/v1/namespaces/default/pods/p4 -H 'Content-Type: application/merge-patch+json' -d '{"metadata":{"labels":{"w":"1"}}}' >/dev/null
sbx_code DELETE /api/v1/namespaces/default/pods/p4 >/dev/null
t0=$(date +%s.%N)
wait $wpid
t1=$(date +%s.%N)
w=$(sed '$d' "$SANDBOX_DIR/watch.out")
is "$(jq -r '.type + " " + .object.metadata.name' <<<"$w" | tr '\n' ',')" "MODIFIED p4,DELETED p4," "watch from a resourceVersion with a fieldSelector: only p4's MODIFIED and DELETED"
check "timeoutSeconds=3 ends the stream (after $(echo "$t1 - $t0" | bc)s)" awk "BEGIN{exit !($t1 - $t0 < 4)}"
w=$(sbx_json GET "/api/v1/namespaces/default/pods?watch=1&timeoutSeconds=1&labelSelector=app%3Db" -N)
is "$(jq -r '.type + " " + .object.metadata.name' <<<"$w" | tr '\n' ',')" "ADDED p2,ADDED p3," "watch without resourceVersion starts with ADDED for current objects"
w=$(sbx_json GET "/api/v1/namespaces/default/pods?watch=1&timeoutSeconds=1&resourceVersion=1" -N)
is "$(jq -c '[.type, .object.reason, .object.code]' <<<"$w")" '["ERROR","Expired",410]' "a resourceVersion older than the history: ERROR 410 Expired event"
"$SBX" fault expire_watch=true
w=$(sbx_json GET "/api/v1/namespaces/default/pods?watch=1&timeoutSeconds=1&resourceVersion=$rv" -N)
like "$(jq -r '.object.message' <<<"$w")" "^too old resource version: $rv \\([0-9]+\\)$" "expire_watch=true: 'too old resource version' for a recent one too"
"$SBX" fault clear

# --- fault injection ---------------------------------------------------------------------
"$SBX" fault throttle_every=2 retry_after=3
c1=$(sbx_curl GET /api/v1/namespaces/default/configmaps -D "$SANDBOX_DIR/h1" | tail -n1)
c2=$(sbx_curl GET /api/v1/namespaces/default/configmaps -D "$SANDBOX_DIR/h2" | tail -n1)
is "$(printf '%s %s' "$c1" "$c2" | grep -o 'HTTP 429' | wc -l)" 1 "throttle_every=2: one of two requests gets 429"
like "$(cat "$SANDBOX_DIR/h1" "$SANDBOX_DIR/h2" | tr -d '\r' | grep -i '^retry-after')" '^Retry-After: 3$' "429 carries Retry-After"
"$SBX" fault clear
"$SBX" fault error_every=1
body=$(sbx_curl GET /api/v1/namespaces/default/configmaps)
is "$(sed '$d' <<<"$body" | jq -r '.reason + " " + (.code|tostring)')" "InternalError 500" "error_every=1: 500 InternalError"
"$SBX" fault clear
"$SBX" fault latency_ms=400
t0=$(date +%s%N)
sbx_code GET /api/v1/namespaces/default/configmaps >/dev/null
t1=$(date +%s%N)
check "latency_ms=400 delays a request ($(((t1 - t0) / 1000000)) ms)" test $(((t1 - t0) / 1000000)) -ge 400
"$SBX" fault clear
"$SBX" fault drop_watch_after=1
sbx_curl GET "/api/v1/namespaces/default/pods?watch=1&timeoutSeconds=30&labelSelector=app%3Da" -N >"$SANDBOX_DIR/drop.out" 2>"$SANDBOX_DIR/drop.err"
like "$(cat "$SANDBOX_DIR/drop.err")" "transfer closed|curl: \(18\)|curl: \(56\)" "drop_watch_after=1: the stream is cut without its last chunk"
"$SBX" fault clear
"$SBX" fault expire_continue=true
body=$(sbx_curl GET "/api/v1/namespaces/default/pods?limit=1&continue=$(sbx_json GET '/api/v1/namespaces/default/pods?limit=1' | jq -r .metadata.continue)")
is "$(tail -n1 <<<"$body")" "HTTP 410" "expire_continue=true: every continue token expires"
"$SBX" fault clear

# concurrent writers: the object really changes first, the store answers 409
P=/apis/wgpolicyk8s.io/v1alpha2/namespaces/default/policyreports/rv-p1
cur=$(sbx_json GET $P)
"$SBX" fault conflict_puts.policyreports.wgpolicyk8s.io=1
body=$(sbx_curl PUT $P -H 'Content-Type: application/json' -d "$(jq -c '.summary.fail=2' <<<"$cur")")
is "$(sed '$d' <<<"$body" | jq -c .)" \
	'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Operation cannot be fulfilled on policyreports.wgpolicyk8s.io \"rv-p1\": the object has been modified; please apply your changes to the latest version and try again","reason":"Conflict","details":{"name":"rv-p1","group":"wgpolicyk8s.io","kind":"policyreports"},"code":409}' \
	"conflict_puts.policyreports.wgpolicyk8s.io=1: a PUT with the resourceVersion it read gets the real 409 Conflict Status"
now=$(sbx_json GET $P)
check "the other writer's update moved the resourceVersion ($(jq -r .metadata.resourceVersion <<<"$cur") -> $(jq -r .metadata.resourceVersion <<<"$now"))" \
	test "$(jq -r .metadata.resourceVersion <<<"$now")" -gt "$(jq -r .metadata.resourceVersion <<<"$cur")"
is "$(jq -r '[.metadata.annotations["sandbox.runtime-verifier.io/concurrent-writes"], .summary.fail] | join(" ")' <<<"$now")" "1 1" \
	"its change is an annotation counting such writes; the refused PUT changed nothing"
cmrv=$(sbx_json GET /api/v1/namespaces/t1/configmaps/c1 | jq -r .metadata.resourceVersion)
is "$(sbx_code PUT /api/v1/namespaces/t1/configmaps/c1 -H 'Content-Type: application/json' \
	-d "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c1\",\"resourceVersion\":\"$cmrv\"},\"data\":{\"a\":\"3\"}}")" 200 \
	"the knob names its resource: a ConfigMap PUT is not touched"
is "$(sbx_code PUT $P -H 'Content-Type: application/json' -d "$(jq -c '.summary.fail=2' <<<"$now")")" 200 \
	"read again, the PUT succeeds: the knob's one write is spent"
"$SBX" fault conflict_configmap_puts=1
cmrv=$(sbx_json GET /api/v1/namespaces/t1/configmaps/c1 | jq -r .metadata.resourceVersion)
body=$(sbx_curl PUT /api/v1/namespaces/t1/configmaps/c1 -H 'Content-Type: application/json' \
	-d "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c1\",\"resourceVersion\":\"$cmrv\"},\"data\":{\"a\":\"4\"}}")
is "$(tail -n1 <<<"$body") $(sed '$d' <<<"$body" | jq -r .message)" \
	'HTTP 409 Operation cannot be fulfilled on configmaps "c1": the object has been modified; please apply your changes to the latest version and try again' \
	"conflict_configmap_puts=1 is conflict_puts.configmaps=1"
"$SBX" fault clear
"$SBX" fault already_exists_posts.configmaps=1
c2='{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c2"},"data":{"mine":"1"}}'
body=$(sbx_curl POST /api/v1/namespaces/t1/configmaps -H 'Content-Type: application/json' -d "$c2")
is "$(sed '$d' <<<"$body" | jq -c .)" \
	'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"configmaps \"c2\" already exists","reason":"AlreadyExists","details":{"name":"c2","kind":"configmaps"},"code":409}' \
	"already_exists_posts.configmaps=1: a POST of an absent object gets the real 409 AlreadyExists Status"
is "$(sbx_json GET /api/v1/namespaces/t1/configmaps/c2 | jq -c '[.data, .metadata.annotations]')" \
	'[{"mine":"1"},{"sandbox.runtime-verifier.io/concurrent-writes":"1"}]' "the other writer created it (from the same body, annotated)"
is "$(sbx_code POST /api/v1/namespaces/t1/configmaps -H 'Content-Type: application/json' -d "${c2/c2/c3}")" 201 \
	"the next POST creates: the knob's one create is spent"
"$SBX" fault clear

# --- namespace deletion -----------------------------------------------------------------
is "$(sbx_code DELETE /api/v1/namespaces/t1)" 200 "delete a namespace"
is "$(sbx_code GET /api/v1/namespaces/t1/configmaps/c1)" 404 "its objects go with it"

done_testing
