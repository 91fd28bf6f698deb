#!/usr/bin/python3
"""apiserver - the sandbox's Kubernetes API server (HTTPS, tokens, RBAC, Pod
Security admission, Status errors, pagination, watch, fault injection), with
its kubelet (kubelet.py) and controllers in the same process.

Python 3 standard library only. Run by sandboxctl; state lives in --dir:
  ca.crt ca.key server.crt server.key   made with the openssl CLI at start
  tokens.json   {"TOKEN": {"username": U, "groups": [G...]}}, re-read on change
  faults.json   fault-injection knobs, re-read on change (see docs/sandbox.md)
  apiserver.port, apiserver.pid
"""
import argparse
import base64
import copy
import hashlib
import http.server
import json
import os
import random
import re
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import k8sutil as ku  # noqa: E402
import k8spb  # noqa: E402
import crdschema  # noqa: E402
import psa  # noqa: E402
from store import Store  # noqa: E402

K8S_VERSION = {"major": "1", "minor": "32", "gitVersion": "v1.32.0-sandbox",
               "gitCommit": "0000000000000000000000000000000000000000",
               "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z",
               "goVersion": "go1.23.4", "compiler": "gc", "platform": "linux/amd64"}

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


class Res:
    def __init__(self, group, version, plural, kind, namespaced, short=(), sub=(),
                 singular=None, verbs=None, categories=None, crd=False):
        self.group, self.version, self.plural, self.kind = group, version, plural, kind
        self.namespaced = namespaced
        self.short = list(short)
        self.sub = list(sub)
        self.singular = singular or kind.lower()
        self.verbs = verbs or ALL_VERBS
        self.categories = categories
        self.crd = crd

    @property
    def rkey(self):
        if self.group == "events.k8s.io":
            return "/events"    # a view of the core events, as in the real server
        return self.group + "/" + self.plural

    @property
    def api_version(self):
        return self.group + "/" + self.version if self.group else self.version


BUILTIN = [
    Res("", "v1", "namespaces", "Namespace", False, ["ns"], ["status", "finalize"],
        verbs=["create", "delete", "get", "list", "patch", "update", "watch"]),
    Res("", "v1", "pods", "Pod", True, ["po"], ["status", "log", "ephemeralcontainers", "exec", "eviction"],
        categories=["all"]),
    Res("", "v1", "configmaps", "ConfigMap", True, ["cm"]),
    Res("", "v1", "secrets", "Secret", True),
    Res("", "v1", "events", "Event", True, ["ev"]),
    Res("events.k8s.io", "v1", "events", "Event", True),
    Res("", "v1", "serviceaccounts", "ServiceAccount", True, ["sa"]),
    Res("", "v1", "nodes", "Node", False, ["no"], ["status"]),
    Res("apps", "v1", "deployments", "Deployment", True, ["deploy"], ["status", "scale"], categories=["all"]),
    Res("apps", "v1", "replicasets", "ReplicaSet", True, ["rs"], ["status", "scale"], categories=["all"]),
    Res("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True, ["pdb"], ["status"]),
    Res("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    Res("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    Res("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
    Res("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True),
    Res("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
        False, ["crd", "crds"], ["status"]),
    Res("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview",
        False, verbs=["create"]),
]

# CRDs the sandbox knows from the start (PolicyReports, Kyverno policies)
PRELOADED_CRDS = [
    ("wgpolicyk8s.io", "v1alpha2", "policyreports", "PolicyReport", "Namespaced", ["polr"]),
    ("wgpolicyk8s.io", "v1alpha2", "clusterpolicyreports", "ClusterPolicyReport", "Cluster", ["cpolr"]),
    ("kyverno.io", "v1", "clusterpolicies", "ClusterPolicy", "Cluster", ["cpol"]),
]

NODE_NAME = "sandbox-node"


# core/v1 Event <-> events.k8s.io/v1 Event (k8s.io/kubernetes/pkg/apis/events/v1 conversion)
EV_FIELDS = [("involvedObject", "regarding"), ("message", "note"), ("reportingComponent", "reportingController"),
             ("source", "deprecatedSource"), ("firstTimestamp", "deprecatedFirstTimestamp"),
             ("lastTimestamp", "deprecatedLastTimestamp"), ("count", "deprecatedCount")]
EV_SAME = ["metadata", "eventTime", "series", "reportingInstance", "action", "reason", "related", "type"]


def core_to_ev(o):
    out = {"apiVersion": "events.k8s.io/v1", "kind": "Event"}
    for k in EV_SAME:
        if k in o:
            out[k] = o[k]
    out.setdefault("eventTime", None)
    for a, b in EV_FIELDS:
        if a in o:
            out[b] = o[a]
    return out


def ev_to_core(o):
    if not isinstance(o, dict):
        return o
    out = {"apiVersion": "v1", "kind": "Event"}
    for k in EV_SAME:
        if k in o:
            out[k] = o[k]
    for a, b in EV_FIELDS:
        if b in o:
            out[a] = o[b]
    return out


# core/v1 Event's typed fields (k8s.io/api/core/v1 types.go): a value of the
# wrong JSON type fails the decode, before any validation, with a 400
# BadRequest worded by encoding/json ("Go struct field <innermost struct>.
# <path> of type <Go type>"). Nested structs are (Go type name, fields).
_REF = ("v1.ObjectReference", {k: "string" for k in (
    "kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")})
EVENT_TYPES = {
    "metadata": ("v1.ObjectMeta", {"name": "string", "generateName": "string", "namespace": "string",
                                   "uid": "string", "resourceVersion": "string",
                                   "labels": "map", "annotations": "map"}),
    "involvedObject": _REF, "related": _REF,
    "reason": "string", "message": "string", "type": "string", "action": "string",
    "reportingComponent": "string", "reportingInstance": "string",
    "source": ("v1.EventSource", {"component": "string", "host": "string"}),
    "firstTimestamp": "string", "lastTimestamp": "string", "eventTime": "string",
    "count": "int32", "series": ("v1.EventSeries", {"count": "int32", "lastObservedTime": "string"}),
}


def _json_kind(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(v), "value")


def check_event_types(obj):
    def fail(v, struct, path, gotype):
        raise ku.bad_request('Event in version "v1" cannot be handled as a Event: json: cannot unmarshal %s into '
                             'Go struct field %s.%s of type %s' % (_json_kind(v), struct, path, gotype))

    def walk(fields, o, struct, prefix):
        for k, want in fields.items():
            v = o.get(k)
            if v is None:
                continue    # null is the zero value, as in Go
            path = prefix + k
            if isinstance(want, tuple):
                if not isinstance(v, dict):
                    fail(v, struct, path, want[0])
                walk(want[1], v, want[0].split(".")[-1], path + ".")
            elif want == "map":
                if not isinstance(v, dict):
                    fail(v, struct, path, "map[string]string")
                for x in v.values():
                    if not isinstance(x, str):
                        fail(x, struct, path, "string")
            elif want == "string" and not isinstance(v, str):
                fail(v, struct, path, "string")
            elif want == "int32" and (isinstance(v, bool) or not isinstance(v, int) or not -2**31 <= v < 2**31):
                fail(v, struct, path, "int32")
    walk(EVENT_TYPES, obj, "Event", "")


def selector_match(sel, labels):
    """A metav1.LabelSelector object against labels. policy/v1 PDBs: a null
    selector matches nothing, an empty one everything."""
    if not isinstance(sel, dict):
        return False
    reqs = [(k, "=", [v]) for k, v in (sel.get("matchLabels") or {}).items()]
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
    for e in sel.get("matchExpressions") or []:
        reqs.append((e.get("key"), ops.get(e.get("operator"), "in"), e.get("values") or []))
    return ku.label_match(reqs, labels)


def tag_pull_policy(image):
    last = image.rsplit("/", 1)[-1]
    if "@" in last:
        return "IfNotPresent"
    if ":" not in last or last.endswith(":latest"):
        return "Always"
    return "IfNotPresent"


class Faults:
    """Knobs from faults.json:
    latency_ms, throttle_every (429 on every Nth resource request),
    retry_after (seconds), error_every (500 on every Nth), drop_watch_after
    (close watch streams after N seconds), continue_ttl (seconds before a
    continue token expires, default 300), expire_continue (true: every
    continue token is expired), expire_watch (true: a watch from any past
    resourceVersion gets 410 Expired, as after an etcd compaction),
    conflict_puts.RESOURCE[.GROUP] (N: the next N PUTs of an existing object
    of that resource, e.g. conflict_puts.configmaps or
    conflict_puts.policyreports.wgpolicyk8s.io, find that another writer
    changed it first, so a PUT naming the resourceVersion it read gets 409
    Conflict; conflict_configmap_puts is conflict_puts.configmaps),
    already_exists_posts.RESOURCE[.GROUP] (N: the next N POSTs of an object
    that does not exist find that another writer created it first, from the
    same body, so they get 409 AlreadyExists). Counts start again whenever
    faults.json changes."""

    ALIASES = {"conflict_puts.configmaps": "conflict_configmap_puts"}

    def __init__(self, path):
        self.path = path
        self.mtime = None
        self.data = {}
        self.count = 0
        self.used = {}          # knob -> injections made since faults.json changed
        self.lock = threading.Lock()

    def get(self):
        try:
            m = os.stat(self.path).st_mtime_ns
        except OSError:
            self.data, self.mtime = {}, None
            return self.data
        if m != self.mtime:
            try:
                with open(self.path) as f:
                    self.data = json.load(f)
                self.mtime = m
                self.used = {}
            except (OSError, ValueError):
                pass
        return self.data

    def tick(self):
        with self.lock:
            self.count += 1
            return self.count

    def take(self, knob, resource, group="", peek=False):
        """One injection of KNOB.RESOURCE[.GROUP] (or its alias), if the
        knob allows one more: its number since faults.json changed (1, 2,
        ...), else 0. peek: say so without using it up."""
        key = knob + "." + resource + ("." + group if group else "")
        d = self.get()
        with self.lock:
            for k in (key, self.ALIASES.get(key)):
                if not k or not d.get(k):
                    continue
                try:
                    limit = int(d[k])
                except (TypeError, ValueError):
                    continue
                n = self.used.get(k, 0)
                if n < limit:
                    if not peek:
                        self.used[k] = n + 1
                    return n + 1
        return 0


class Tokens:
    def __init__(self, path):
        self.path = path
        self.mtime = None
        self.data = {}

    def lookup(self, tok):
        try:
            m = os.stat(self.path).st_mtime_ns
            if m != self.mtime:
                with open(self.path) as f:
                    self.data = json.load(f)
                self.mtime = m
        except (OSError, ValueError):
            pass
        u = self.data.get(tok)
        if u is not None and u.get("exp") and time.time() > u["exp"]:
            return None     # an expired bound token: 401, as the real server
        return u


class API:
    """Everything behind the HTTP layer."""

    def __init__(self, state_dir):
        self.dir = state_dir
        self.store = Store()
        self.res = {}       # (group, version, plural) -> Res
        for r in BUILTIN:
            self.register(r)
        self.faults = Faults(os.path.join(state_dir, "faults.json"))
        self.tokens = Tokens(os.path.join(state_dir, "tokens.json"))
        self.kubelet = None
        self.controllers = []
        self.store.listeners.append(self._on_change)
        self.bootstrap()

    # --- registry ---------------------------------------------------------
    def register(self, r):
        self.res[(r.group, r.version, r.plural)] = r

    def find(self, group, version, plural):
        return self.res.get((group, version, plural))

    def _on_change(self, typ, rkey, obj):
        if rkey == "apiextensions.k8s.io/customresourcedefinitions":
            self._crd_changed(typ, obj)
        if rkey == "/pods" and self.kubelet is not None:
            self.kubelet.notify(typ, obj)
        for c in self.controllers:
            c.notify(typ, rkey, obj)
        if typ == "DELETED":
            uid = obj["metadata"].get("uid")
            threading.Thread(target=self._gc, args=(uid,), daemon=True).start()

    def _crd_changed(self, typ, crd):
        spec = crd.get("spec", {})
        names = spec.get("names", {})
        for v in spec.get("versions", []):
            if not v.get("served", True):
                continue
            key = (spec.get("group"), v["name"], names.get("plural"))
            if typ == "DELETED":
                self.res.pop(key, None)
            else:
                res = Res(spec.get("group"), v["name"], names.get("plural"),
                          names.get("kind"), spec.get("scope") == "Namespaced",
                          names.get("shortNames") or [],
                          ["status"] if (v.get("subresources") or {}).get("status") is not None else [],
                          singular=names.get("singular"), crd=True,
                          categories=names.get("categories"))
                # the version's schema: custom resources are pruned and validated against it
                res.schema = (v.get("schema") or {}).get("openAPIV3Schema")
                self.register(res)

    def _gc(self, owner_uid):
        """Background cascading deletion: objects owned by a deleted uid."""
        time.sleep(0.05)
        victims = []
        with self.store.lock:
            for (rkey, ns, name), o in self.store.objs.items():
                for ref in o["metadata"].get("ownerReferences") or []:
                    if ref.get("uid") == owner_uid:
                        victims.append((rkey, ns, name))
        for rkey, ns, name in victims:
            r = self.res_by_rkey(rkey)
            try:
                self.delete_object(r, ns, name, {})
            except ku.APIError:
                pass

    def res_by_rkey(self, rkey):
        for r in self.res.values():
            if r.rkey == rkey:
                return r
        return None

    def bootstrap(self):
        s = self.store
        for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
            s.create("/namespaces", "", {"apiVersion": "v1", "kind": "Namespace",
                                          "metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}},
                                          "spec": {"finalizers": ["kubernetes"]},
                                          "status": {"phase": "Active"}}, "namespaces")
            s.create("/serviceaccounts", ns, {"apiVersion": "v1", "kind": "ServiceAccount",
                                               "metadata": {"name": "default"}}, "serviceaccounts")
        s.create("/nodes", "", {"apiVersion": "v1", "kind": "Node", "metadata": {
            "name": NODE_NAME, "labels": {"kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux",
                                          "kubernetes.io/arch": "amd64"}},
            "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                       "message": "kubelet is posting ready status"}],
                       "nodeInfo": {"containerRuntimeVersion": "runc://sandbox", "kubeletVersion": "v1.32.0-sandbox",
                                    "operatingSystem": "linux", "architecture": "amd64"}}}, "nodes")
        rb = "rbac.authorization.k8s.io"
        s.create(rb + "/clusterroles", "", {"apiVersion": rb + "/v1", "kind": "ClusterRole",
                                           "metadata": {"name": "cluster-admin"},
                                           "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                                                     {"nonResourceURLs": ["*"], "verbs": ["*"]}]}, "clusterroles", rb)
        s.create(rb + "/clusterroles", "", {"apiVersion": rb + "/v1", "kind": "ClusterRole",
                                           "metadata": {"name": "view"},
                                           "rules": [{"apiGroups": ["", "apps"], "resources": [
                                               "pods", "pods/log", "configmaps", "events", "namespaces",
                                               "deployments", "replicasets", "serviceaccounts"],
                                               "verbs": ["get", "list", "watch"]}]}, "clusterroles", rb)
        s.create(rb + "/clusterrolebindings", "", {"apiVersion": rb + "/v1", "kind": "ClusterRoleBinding",
                                                  "metadata": {"name": "cluster-admin"},
                                                  "roleRef": {"apiGroup": rb, "kind": "ClusterRole", "name": "cluster-admin"},
                                                  "subjects": [{"apiGroup": rb, "kind": "Group", "name": "system:masters"}]},
                 "clusterrolebindings", rb)
        for g, v, plural, kind, scope, short in PRELOADED_CRDS:
            s.create("apiextensions.k8s.io/customresourcedefinitions", "", {
                "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                "metadata": {"name": plural + "." + g},
                "spec": {"group": g, "scope": scope,
                         "names": {"plural": plural, "singular": kind.lower(), "kind": kind,
                                   "listKind": kind + "List", "shortNames": short},
                         "versions": [{"name": v, "served": True, "storage": True,
                                       "schema": {"openAPIV3Schema": {"type": "object",
                                                                      "x-kubernetes-preserve-unknown-fields": True}}}]},
                "status": {"conditions": [{"type": "Established", "status": "True"}]}},
                "customresourcedefinitions", "apiextensions.k8s.io")

    # --- RBAC ---------------------------------------------------------------
    def allowed(self, user, verb, group, resource, sub, ns, name):
        uname, groups = user["username"], user.get("groups", [])
        if "system:masters" in groups:
            return True
        want_res = resource + ("/" + sub if sub else "")
        rb = "rbac.authorization.k8s.io"

        def subject_ok(subjects, bns):
            for sj in subjects or []:
                k = sj.get("kind")
                if k == "User" and sj.get("name") == uname:
                    return True
                if k == "Group" and sj.get("name") in groups:
                    return True
                if k == "ServiceAccount" and uname == "system:serviceaccount:%s:%s" % (
                        sj.get("namespace") or bns, sj.get("name")):
                    return True
            return False

        def rules_ok(rules):
            for r in rules or []:
                verbs = r.get("verbs") or []
                if "*" not in verbs and verb not in verbs:
                    continue
                if "nonResourceURLs" in r and "resources" not in r:
                    continue
                gs = r.get("apiGroups") or []
                if "*" not in gs and group not in gs:
                    continue
                rs = r.get("resources") or []
                if not ("*" in rs or want_res in rs or (sub and ("*/" + sub) in rs)
                        or (not sub and False)):
                    continue
                names = r.get("resourceNames") or []
                if names and name not in names:
                    continue
                return True
            return False

        s = self.store
        with s.lock:
            for crb in s.list(rb + "/clusterrolebindings")[0]:
                if subject_ok(crb.get("subjects"), ""):
                    role = s.get(rb + "/clusterroles", "", crb["roleRef"]["name"])
                    if role and rules_ok(role.get("rules")):
                        return True
            if ns:
                for rbd in s.list(rb + "/rolebindings", ns)[0]:
                    if subject_ok(rbd.get("subjects"), ns):
                        ref = rbd["roleRef"]
                        if ref.get("kind") == "ClusterRole":
                            role = s.get(rb + "/clusterroles", "", ref["name"])
                        else:
                            role = s.get(rb + "/roles", ns, ref["name"])
                        if role and rules_ok(role.get("rules")):
                            return True
        return False

    # --- object helpers ---------------------------------------------------
    def ns_exists(self, ns):
        return self.store.get("/namespaces", "", ns) is not None

    def prepare_new(self, r, ns, obj, user, field_validation=None):
        if not isinstance(obj, dict):
            raise ku.bad_request("the body of the request was in an unknown format")
        if r.plural == "events" and r.group == "":
            check_event_types(obj)
        obj["apiVersion"] = r.api_version
        obj["kind"] = r.kind
        md = obj.setdefault("metadata", {})
        if not md.get("name"):
            if md.get("generateName"):
                md["name"] = md["generateName"] + "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
            else:
                raise ku.invalid(r.kind, "", [("FieldValueRequired", "metadata.name", "name or generateName is required")])
        name = md["name"]
        if r.group == "rbac.authorization.k8s.io":
            # RBAC objects are named by path segments (ValidateRBACName):
            # "system:controller:foo" is fine, "/" and "%" are not
            bad = ["may not be '%s'" % name] if name in (".", "..") else []
            bad += ["may not contain '%s'" % c for c in ("/", "%") if c in name]
            if bad:
                raise ku.invalid(r.kind, name, [("FieldValueInvalid", "metadata.name", '"%s": %s' % (name, b))
                                               for b in bad], r.group)
        elif not re.match(r'^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$', name) or len(name) > 253:
            raise ku.invalid(r.kind, name, [("FieldValueInvalid", "metadata.name",
                                            '"%s": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \'-\' or \'.\', and must start and end with an alphanumeric character (e.g. \'example.com\', regex used for validation is \'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\')' % name)])
        if md.get("namespace") and r.namespaced and md["namespace"] != ns:
            raise ku.bad_request("the namespace of the provided object does not match the namespace sent on the request")
        md.pop("resourceVersion", None)
        if r.namespaced and not self.ns_exists(ns):
            raise ku.not_found("namespaces", ns)
        if r.crd:
            self.check_custom(r, obj, field_validation)
        if r.plural == "pods" and r.group == "":
            self.default_pod(obj)
            self.validate_pod(obj)
            self.admit_pod(ns, obj)
        if r.plural == "namespaces" and r.group == "":
            md.setdefault("labels", {})["kubernetes.io/metadata.name"] = name
            obj.setdefault("spec", {"finalizers": ["kubernetes"]})
            obj["status"] = {"phase": "Active"}
        if r.plural == "events" and r.group == "":
            t = ku.now_rfc3339()
            obj.setdefault("firstTimestamp", t)
            obj.setdefault("lastTimestamp", obj["firstTimestamp"])
            obj.setdefault("count", 1)
            obj.setdefault("type", "Normal")
            if not obj.get("involvedObject"):
                raise ku.invalid("Event", name, [("FieldValueRequired", "involvedObject", "")])
            io = obj["involvedObject"]
            if io.get("namespace") and io["namespace"] != ns:
                raise ku.invalid("Event", name, [("FieldValueInvalid", "involvedObject.namespace",
                                                  '"%s": does not match event.namespace' % io["namespace"])])
        if r.plural in ("deployments", "replicasets"):
            obj.setdefault("spec", {}).setdefault("replicas", 1)
            obj["status"] = {}
        if r.plural == "secrets" and r.group == "":
            obj.setdefault("type", "Opaque")
            for k, v in (obj.pop("stringData", None) or {}).items():
                obj.setdefault("data", {})[k] = base64.b64encode(v.encode()).decode()
        return obj

    def check_custom(self, r, obj, field_validation):
        """A custom resource against its CRD's schema, as the real server:
        undeclared fields pruned (Strict: refused with 400), then types,
        enums and required fields (422)."""
        schema = getattr(r, "schema", None)
        if crdschema.trivial(schema):
            return
        unknown = crdschema.prune(schema, obj)
        if unknown and field_validation == "Strict":
            raise ku.bad_request('%s in version "%s" cannot be handled as a %s: strict decoding error: %s' % (
                r.kind, r.version, r.kind, ", ".join('unknown field "%s"' % u for u in unknown)))
        causes = crdschema.validate(schema, obj)
        if causes:
            e = ku.invalid(r.kind + "." + r.group, (obj.get("metadata") or {}).get("name", ""), causes, r.group)
            e.details["kind"] = r.kind      # the message names the group, details do not
            raise e

    def default_pod(self, pod):
        spec = pod.setdefault("spec", {})
        spec.setdefault("restartPolicy", "Always")
        spec.setdefault("terminationGracePeriodSeconds", 30)
        spec.setdefault("dnsPolicy", "ClusterFirst")
        spec.setdefault("serviceAccountName", spec.get("serviceAccount") or "default")
        spec.setdefault("serviceAccount", spec["serviceAccountName"])
        spec.setdefault("securityContext", {})
        spec.setdefault("schedulerName", "default-scheduler")
        spec.setdefault("enableServiceLinks", True)
        spec.setdefault("priority", 0)
        spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
        spec.setdefault("tolerations", [
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}])
        for key in ("initContainers", "containers", "ephemeralContainers"):
            for c in spec.get(key) or []:
                self.default_container(c)
        pod["status"] = {"phase": "Pending", "qosClass": "BestEffort"}

    def default_container(self, c):
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        if c.get("image"):
            c.setdefault("imagePullPolicy", tag_pull_policy(c["image"]))
        c.setdefault("resources", {}) if "resources" in c or True else None
        for p in c.get("ports") or []:
            p.setdefault("protocol", "TCP")

    def validate_pod(self, pod):
        name = pod["metadata"]["name"]
        spec = pod["spec"]
        causes = []
        cs = spec.get("containers") or []
        if not cs:
            causes.append(("FieldValueRequired", "spec.containers", ""))
        seen = set()
        for key in ("initContainers", "containers"):
            for i, c in enumerate(spec.get(key) or []):
                if not c.get("name"):
                    causes.append(("FieldValueRequired", "spec.%s[%d].name" % (key, i), ""))
                elif c["name"] in seen:
                    causes.append(("FieldValueDuplicate", "spec.%s[%d].name" % (key, i), '"%s"' % c["name"]))
                seen.add(c.get("name"))
                if not c.get("image"):
                    causes.append(("FieldValueRequired", "spec.%s[%d].image" % (key, i), ""))
        if spec.get("ephemeralContainers"):
            causes.append(("FieldValueForbidden", "spec.ephemeralContainers",
                           "cannot be set on create"))
        if causes:
            raise ku.invalid("Pod", name, causes)

    def admit_pod(self, ns, pod):
        nso = self.store.get("/namespaces", "", ns) or {}
        level, ver = psa.level_of(nso.get("metadata", {}).get("labels"))
        v = psa.evaluate(pod, level)
        if v:
            raise ku.APIError(403, "Forbidden", psa.message(pod["metadata"]["name"], level, ver, v),
                              {"name": pod["metadata"]["name"], "kind": "pods"})

    # --- generic verbs --------------------------------------------------------
    def core_events(self):
        return self.find("", "v1", "events")

    def create(self, r, ns, obj, user, field_validation=None):
        if r.group == "events.k8s.io":
            r, obj = self.core_events(), ev_to_core(obj)
        obj = self.prepare_new(r, ns, obj, user, field_validation)
        out = self.store.create(r.rkey, ns if r.namespaced else "", obj, r.plural, r.group)
        return out

    def update(self, r, ns, name, obj, sub="", field_validation=None):
        if r.group == "events.k8s.io":
            r, obj = self.core_events(), ev_to_core(obj)
        cur = self.store.get(r.rkey, ns, name)
        if cur is None:
            raise ku.not_found(r.plural, name, r.group)
        if not isinstance(obj, dict):
            raise ku.bad_request("the body of the request was in an unknown format")
        if r.plural == "events" and r.group == "":
            check_event_types(obj)
        if r.crd:
            self.check_custom(r, obj, field_validation)
        md = obj.setdefault("metadata", {})
        if md.get("name") and md["name"] != name:
            raise ku.bad_request("the name of the object (%s) does not match the name on the URL (%s)" % (md["name"], name))
        obj["apiVersion"] = r.api_version
        obj["kind"] = r.kind
        has_status = "status" in r.sub
        if sub == "status":
            new = copy.deepcopy(cur)
            new["status"] = obj.get("status", {})
            new["metadata"]["resourceVersion"] = md.get("resourceVersion") or cur["metadata"]["resourceVersion"]
            obj = new
        elif has_status:
            obj["status"] = cur.get("status", {})
        bump = False
        if r.plural == "pods" and r.group == "" and sub != "status":
            self.check_pod_update(cur, obj)
        if r.group == "apps" or r.crd:
            bump = obj.get("spec") != cur.get("spec")
        if r.plural == "namespaces" and r.group == "":
            obj.setdefault("metadata", {}).setdefault("labels", {})["kubernetes.io/metadata.name"] = name
        if r.plural == "secrets" and r.group == "":
            for k, v in (obj.pop("stringData", None) or {}).items():
                obj.setdefault("data", {})[k] = base64.b64encode(v.encode()).decode()
        return self.store.update(r.rkey, ns, name, obj, r.plural, r.group, bump_generation=bump)

    def check_pod_update(self, cur, new):
        a = copy.deepcopy(cur.get("spec", {}))
        b = copy.deepcopy(new.get("spec", {}))
        for s in (a, b):
            for key in ("containers", "initContainers"):
                for c in s.get(key) or []:
                    c.pop("image", None)
            s.pop("activeDeadlineSeconds", None)
            s.pop("tolerations", None)
        if a != b:
            raise ku.invalid("Pod", cur["metadata"]["name"], [(
                "FieldValueForbidden", "spec",
                "pod updates may not change fields other than `spec.containers[*].image`,"
                "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
                "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
                "(allow it to be set to 1 if it was previously negative)")])

    def patch(self, r, ns, name, ctype, body, sub=""):
        cur = self.store.get(r.rkey, ns, name)
        if cur is None:
            raise ku.not_found(r.plural, name, r.group)
        try:
            p = json.loads(body or b"null")
        except ValueError as e:
            raise ku.bad_request("error decoding patch: %s" % e)
        ctype = (ctype or "").split(";")[0].strip()
        if r.group == "events.k8s.io":
            cur = core_to_ev(cur)
        if ctype == "application/json-patch+json":
            new = ku.json_patch(cur, p)
        elif ctype == "application/merge-patch+json":
            new = ku.json_merge_patch(cur, p)
        elif ctype == "application/strategic-merge-patch+json":
            if r.crd:
                raise ku.APIError(415, "UnsupportedMediaType",
                                  'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml')
            new = ku.strategic_merge_patch(cur, p)
        elif ctype == "application/apply-patch+yaml":
            raise ku.APIError(415, "UnsupportedMediaType", "server-side apply is not supported by the sandbox")
        else:
            raise ku.APIError(415, "UnsupportedMediaType",
                              'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json')
        if not isinstance(new, dict):
            raise ku.bad_request("patch produced a non-object")
        if sub == "ephemeralcontainers":
            return self.update_ephemeral(ns, name, cur, new)
        # a patch that does not name a resourceVersion never conflicts
        if not (isinstance(p, dict) and (p.get("metadata") or {}).get("resourceVersion")):
            new.setdefault("metadata", {})["resourceVersion"] = cur["metadata"]["resourceVersion"]
        return self.update(r, ns, name, new, sub)

    def update_ephemeral(self, ns, name, cur, new):
        old_ecs = cur["spec"].get("ephemeralContainers") or []
        new_ecs = copy.deepcopy((new.get("spec") or {}).get("ephemeralContainers") or [])
        causes = []
        by_name = {c.get("name"): c for c in new_ecs}
        old_names = {c["name"] for c in old_ecs}
        for c in new_ecs:
            if c.get("name") not in old_names:
                self.default_container(c)
        for o in old_ecs:
            n = by_name.get(o["name"])
            if n is None:
                causes.append(("FieldValueForbidden", "spec.ephemeralContainers",
                               'existing ephemeral containers "%s" may not be removed\n' % o["name"]))
            elif n != o:
                causes.append(("FieldValueForbidden", "spec.ephemeralContainers",
                               'existing ephemeral containers "%s" may not be changed\n' % o["name"]))
        names = {c["name"] for k in ("containers", "initContainers") for c in cur["spec"].get(k) or []}
        seen = set()
        for i, c in enumerate(new_ecs):
            path = "spec.ephemeralContainers[%d]" % i
            if c.get("name") in old_names:
                seen.add(c["name"])
                continue
            if not c.get("name"):
                causes.append(("FieldValueRequired", path + ".name", ""))
            elif c["name"] in names or c["name"] in seen:
                causes.append(("FieldValueDuplicate", path + ".name", '"%s"' % c["name"]))
            elif not re.match(r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', c["name"]):
                causes.append(("FieldValueInvalid", path + ".name",
                               '"%s": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \'-\', and must start and end with an alphanumeric character (e.g. \'my-name\',  or \'123-abc\', regex used for validation is \'[a-z0-9]([-a-z0-9]*[a-z0-9])?\')' % c["name"]))
            seen.add(c.get("name"))
            if not c.get("image"):
                causes.append(("FieldValueRequired", path + ".image", ""))
            for f in ("ports", "resources", "lifecycle", "livenessProbe", "readinessProbe", "startupProbe"):
                v = c.get(f)
                if v and (f != "resources" or any(v.values())):
                    causes.append(("FieldValueForbidden", path + "." + f, "cannot be set for an Ephemeral Container"))
            for j, vm in enumerate(c.get("volumeMounts") or []):
                if vm.get("subPath"):
                    causes.append(("FieldValueForbidden", "%s.volumeMounts[%d].subPath" % (path, j),
                                   "cannot be set for an Ephemeral Container"))
            t = c.get("targetContainerName")
            if t and t not in names:
                causes.append(("FieldValueNotFound", path + ".targetContainerName", '"%s"' % t))
        if causes:
            raise ku.invalid("Pod", name, causes)
        cand = copy.deepcopy(cur)
        cand["spec"]["ephemeralContainers"] = new_ecs
        if len(new_ecs) != len(old_ecs):
            self.admit_pod(ns, cand)
        cand["metadata"]["resourceVersion"] = (new.get("metadata") or {}).get("resourceVersion") or cur["metadata"]["resourceVersion"]
        return self.store.update("/pods", ns, name, cand, "pods")

    def delete_object(self, r, ns, name, opts):
        cur = self.store.get(r.rkey, ns, name)
        if cur is None:
            raise ku.not_found(r.plural, name, r.group)
        pre = (opts or {}).get("preconditions") or {}
        if pre.get("uid") and pre["uid"] != cur["metadata"]["uid"]:
            raise ku.conflict(r.plural, name, r.group)
        if pre.get("resourceVersion") and pre["resourceVersion"] != cur["metadata"]["resourceVersion"]:
            raise ku.conflict(r.plural, name, r.group)
        if r.rkey == "/pods" and self.kubelet is not None and cur["spec"].get("nodeName"):
            grace = opts.get("gracePeriodSeconds")
            if grace is None:
                grace = cur["spec"].get("terminationGracePeriodSeconds", 30)
            if "deletionTimestamp" not in cur["metadata"]:
                with self.store.lock:
                    c2 = self.store.get("/pods", ns, name)
                    c2["metadata"]["deletionTimestamp"] = ku.now_rfc3339()
                    c2["metadata"]["deletionGracePeriodSeconds"] = int(grace)
                    self.store.objs[("/pods", ns, name)]["metadata"].update(
                        deletionTimestamp=c2["metadata"]["deletionTimestamp"],
                        deletionGracePeriodSeconds=int(grace))
                    c2["metadata"]["resourceVersion"] = str(self.store._bump())
                    self.store.objs[("/pods", ns, name)]["metadata"]["resourceVersion"] = c2["metadata"]["resourceVersion"]
                    self.store._emit("MODIFIED", "/pods", copy.deepcopy(c2))
                return c2, False
            return cur, False
        if r.rkey == "/namespaces":
            with self.store.lock:
                keys = [k for k in self.store.objs if k[1] == name and k[0] != "/namespaces"]
            for rkey, ons, oname in keys:
                rr = self.res_by_rkey(rkey)
                try:
                    self.delete_object(rr, ons, oname, {"gracePeriodSeconds": 0})
                except ku.APIError:
                    pass
            cur["status"] = {"phase": "Terminating"}
            self.store.delete(r.rkey, "", name, r.plural)
            return cur, False
        gone = self.store.delete(r.rkey, ns, name, r.plural, r.group)
        return gone, True

    # --- eviction and PodDisruptionBudgets -----------------------------------
    def evict(self, ns, name, body):
        """POST pods/NAME/eviction, a policy/v1 (or v1beta1) Eviction: the pod
        is deleted as by a DELETE with the Eviction's deleteOptions, unless
        a PodDisruptionBudget selecting it allows no disruption now: 429
        TooManyRequests, cause DisruptionBudget, no Retry-After (as
        pkg/registry/core/pod/storage/eviction.go). The sandbox has no
        disruption controller: the budget is computed at the request from
        the pods its selector matches (expected = their count)."""
        try:
            ev = json.loads(body or b"null")
        except ValueError as e:
            raise ku.bad_request("error decoding Eviction: %s" % e)
        if not isinstance(ev, dict) or ev.get("kind", "Eviction") != "Eviction" or \
                ev.get("apiVersion", "policy/v1") not in ("policy/v1", "policy/v1beta1"):
            raise ku.bad_request("the body of the request was in an unknown format - expected a policy/v1 Eviction")
        if (ev.get("metadata") or {}).get("name") != name:
            raise ku.bad_request("name in URL does not match name in Eviction object")
        pod = self.store.get("/pods", ns, name)
        if pod is None:
            raise ku.not_found("pods", name)
        md = pod["metadata"]
        phase = (pod.get("status") or {}).get("phase")
        if not md.get("deletionTimestamp") and phase not in ("Succeeded", "Failed", "Pending"):
            self.check_budget(ns, pod)
        self.delete_object(self.find("", "v1", "pods"), ns, name, ev.get("deleteOptions") or {})
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}

    def check_budget(self, ns, pod):
        def ready(p):
            return not p["metadata"].get("deletionTimestamp") and any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for c in (p.get("status") or {}).get("conditions") or [])

        def count(v, expected):
            if isinstance(v, str) and v.endswith("%"):
                return -(-expected * int(v[:-1]) // 100)    # rounded up
            return int(v)

        labels = pod["metadata"].get("labels") or {}
        pdbs = [b for b in self.store.list("policy/poddisruptionbudgets", ns)[0]
                if selector_match((b.get("spec") or {}).get("selector"), labels)]
        if not pdbs:
            return
        if len(pdbs) > 1:
            raise ku.internal_error("This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.")
        b = pdbs[0]
        spec = b.get("spec") or {}
        matched = [p for p in self.store.list("/pods", ns)[0]
                   if selector_match(spec.get("selector"), p["metadata"].get("labels"))]
        expected = len(matched)
        healthy = sum(1 for p in matched if ready(p))
        if spec.get("minAvailable") is not None:
            desired = count(spec["minAvailable"], expected)
        elif spec.get("maxUnavailable") is not None:
            desired = max(0, expected - count(spec["maxUnavailable"], expected))
        else:
            desired = expected
        allowed = healthy - desired if ready(pod) else (1 if healthy >= desired else 0)
        if allowed < 1:
            raise ku.APIError(429, "TooManyRequests",
                              "Cannot evict pod as it would violate the pod's disruption budget.",
                              {"causes": [{"reason": "DisruptionBudget",
                                           "message": "The disruption budget %s needs %d healthy pods and has %d currently"
                                           % (b["metadata"]["name"], desired, healthy)}]})

    CONCURRENT = "sandbox.runtime-verifier.io/concurrent-writes"

    def concurrent_update(self, r, ns, name):
        """conflict_puts.RESOURCE[.GROUP]: another writer updates the object
        just before this PUT, so its resourceVersion moves (a watch sees the
        MODIFIED event) and a PUT naming the one it read gets the real 409
        Conflict from the store. The other writer's change: the annotation
        CONCURRENT counts the injected writes the object has seen."""
        ns = ns if r.namespaced else ""
        with self.store.lock:
            if self.store.get(r.rkey, ns, name) is None or \
                    not self.faults.take("conflict_puts", r.plural, r.group):
                return

            def touch(o):
                ann = o["metadata"].get("annotations") or {}
                try:
                    n = int(ann.get(self.CONCURRENT, "0"))
                except (TypeError, ValueError):
                    n = 0
                ann[self.CONCURRENT] = str(n + 1)
                o["metadata"]["annotations"] = ann
            self.store.mutate(r.rkey, ns, name, touch, r.plural, r.group)

    def concurrent_create(self, r, ns, obj, user, field_validation):
        """already_exists_posts.RESOURCE[.GROUP]: another writer creates the
        object (this POST's body, annotated CONCURRENT "1") between the
        client's GET (404) and its POST, which then gets the real 409
        AlreadyExists from the store. A body the server would refuse, or one
        without a name (generateName), creates nothing."""
        if not self.faults.take("already_exists_posts", r.plural, r.group, peek=True):
            return
        md = obj.get("metadata") if isinstance(obj, dict) else None
        name = md.get("name") if isinstance(md, dict) else None
        if not name or not isinstance(name, str):
            return
        with self.store.lock:
            if self.store.get(r.rkey, ns if r.namespaced else "", name) is not None:
                return
            other = copy.deepcopy(obj)
            ann = other["metadata"].get("annotations")
            ann = dict(ann) if isinstance(ann, dict) else {}
            ann[self.CONCURRENT] = "1"
            other["metadata"]["annotations"] = ann
            try:
                self.prepare_new(r, ns, copy.deepcopy(other), user, field_validation)
            except ku.APIError:
                return      # the POST itself fails the same way
            if self.faults.take("already_exists_posts", r.plural, r.group):
                try:
                    self.create(r, ns, other, user, field_validation)
                except ku.APIError:
                    pass

    # --- lists ------------------------------------------------------------
    FIELDS = {
        "pods": ["metadata.name", "metadata.namespace", "spec.nodeName", "spec.restartPolicy",
                 "spec.schedulerName", "spec.serviceAccountName", "spec.hostNetwork",
                 "status.phase", "status.podIP", "status.nominatedNodeName"],
        "events": ["metadata.name", "metadata.namespace", "involvedObject.kind",
                   "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
                   "involvedObject.apiVersion", "involvedObject.resourceVersion",
                   "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"],
        "secrets": ["metadata.name", "metadata.namespace", "type"],
        "namespaces": ["metadata.name", "status.phase"],
        "replicasets": ["metadata.name", "metadata.namespace", "status.replicas"],
    }

    def selectors(self, r, q):
        lsel = ku.parse_label_selector(q.get("labelSelector"))
        allowed = self.FIELDS.get(r.plural, ["metadata.name", "metadata.namespace"])
        fs = q.get("fieldSelector")
        if r.group == "events.k8s.io" and fs:
            for a, b in EV_FIELDS:
                fs = re.sub(r'(^|,)%s(?=[.=!])' % re.escape(b), r'\g<1>%s' % a, fs)
        fsel = ku.parse_field_selector(fs, allowed, r.plural)
        return lsel, fsel

    def list(self, r, ns, q):
        lsel, fsel = self.selectors(r, q)
        items, rv = self.store.list(r.rkey, ns if r.namespaced else None)
        items = [o for o in items if ku.label_match(lsel, o["metadata"].get("labels"))
                 and ku.field_match(fsel, o)]
        items.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        limit = int(q.get("limit") or 0)
        cont = q.get("continue")
        start_after = None
        list_rv = rv
        if cont:
            try:
                tok = json.loads(base64.urlsafe_b64decode(cont + "=" * (-len(cont) % 4)))
                start_after = tuple(tok["start"])
                issued = tok["t"]
                list_rv = tok["rv"]
            except (ValueError, KeyError, TypeError):
                raise ku.bad_request("continue key is not valid: illegal base64 data at input byte 0")
            f = self.faults.get()
            ttl = float(f.get("continue_ttl", 300))
            if f.get("expire_continue") or time.time() - issued > ttl:
                raise ku.expired_continue()
            items = [o for o in items if (o["metadata"].get("namespace", ""), o["metadata"]["name"]) > start_after]
        meta = {"resourceVersion": str(list_rv)}
        if limit and len(items) > limit:
            last = items[limit - 1]["metadata"]
            tok = {"rv": list_rv, "start": [last.get("namespace", ""), last["name"]], "t": (time.time() if not cont else issued)}
            meta["continue"] = base64.urlsafe_b64encode(ku.dumps(tok).encode()).decode().rstrip("=")
            meta["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        for o in items:
            # built-in lists carry no kind/apiVersion on their items (the
            # real server strips TypeMeta); custom resources keep theirs
            if r.crd:
                o["apiVersion"], o["kind"] = r.api_version, r.kind
            else:
                o.pop("apiVersion", None)
                o.pop("kind", None)
        return {"kind": r.kind + "List", "apiVersion": r.api_version, "metadata": meta, "items": items}


# --- tables (kubectl get) -------------------------------------------------

def pod_status_text(p):
    md, st = p["metadata"], p.get("status", {})
    reason = st.get("reason") or st.get("phase", "Pending")
    for cs in st.get("containerStatuses") or []:
        s = cs.get("state", {})
        if s.get("waiting", {}).get("reason"):
            reason = s["waiting"]["reason"]
        elif s.get("terminated"):
            reason = s["terminated"].get("reason") or ("Signal:%d" % s["terminated"].get("signal", 0))
    if md.get("deletionTimestamp"):
        reason = "Terminating"
    return reason


def table_for(r, objs, list_meta):
    def pmeta(o):
        return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]}

    def col(name, typ="string", fmt="", desc="", prio=0):
        return {"name": name, "type": typ, "format": fmt, "description": desc, "priority": prio}

    rows = []
    if r.plural == "pods" and r.group == "":
        cols = [col("Name", fmt="name"), col("Ready"), col("Status"), col("Restarts"), col("Age"),
                col("IP", prio=1), col("Node", prio=1), col("Nominated Node", prio=1), col("Readiness Gates", prio=1)]
        for p in objs:
            st = p.get("status", {})
            css = st.get("containerStatuses") or []
            ready = sum(1 for c in css if c.get("ready"))
            restarts = str(sum(c.get("restartCount", 0) for c in css))
            last = max((c.get("lastState", {}).get("terminated", {}).get("finishedAt", "") for c in css), default="")
            if restarts != "0" and last:
                restarts += " (%s ago)" % ku.age(last)
            rows.append({"cells": [p["metadata"]["name"], "%d/%d" % (ready, len(p["spec"].get("containers", []))),
                                   pod_status_text(p), restarts, ku.age(p["metadata"].get("creationTimestamp")),
                                   st.get("podIP", "<none>"), p["spec"].get("nodeName", "<none>"), "<none>", "<none>"],
                         "object": pmeta(p)})
    elif r.plural == "events" and r.group == "":
        cols = [col("Last Seen"), col("Type"), col("Reason"), col("Object"), col("Subobject", prio=1),
                col("Source", prio=1), col("Message"), col("First Seen", prio=1), col("Count", prio=1),
                col("Name", prio=1)]
        for e in objs:
            io = e.get("involvedObject", {})
            src = e.get("source", {})
            rows.append({"cells": [ku.age(e.get("lastTimestamp") or e["metadata"].get("creationTimestamp")),
                                   e.get("type", ""), e.get("reason", ""),
                                   "%s/%s" % (io.get("kind", "").lower(), io.get("name", "")),
                                   io.get("fieldPath", ""), ", ".join(x for x in (src.get("component", ""), src.get("host", "")) if x),
                                   e.get("message", ""), ku.age(e.get("firstTimestamp") or e["metadata"].get("creationTimestamp")),
                                   str(e.get("count", 1)), e["metadata"]["name"]],
                         "object": pmeta(e)})
    elif r.plural == "namespaces" and r.group == "":
        cols = [col("Name", fmt="name"), col("Status"), col("Age")]
        for o in objs:
            rows.append({"cells": [o["metadata"]["name"], o.get("status", {}).get("phase", "Active"),
                                   ku.age(o["metadata"].get("creationTimestamp"))], "object": pmeta(o)})
    elif r.plural in ("configmaps", "secrets") and r.group == "":
        if r.plural == "secrets":
            cols = [col("Name", fmt="name"), col("Type"), col("Data"), col("Age")]
        else:
            cols = [col("Name", fmt="name"), col("Data"), col("Age")]
        for o in objs:
            n = len(o.get("data") or {}) + len(o.get("binaryData") or {})
            cells = [o["metadata"]["name"]] + ([o.get("type", "")] if r.plural == "secrets" else []) + [
                str(n), ku.age(o["metadata"].get("creationTimestamp"))]
            rows.append({"cells": cells, "object": pmeta(o)})
    elif r.plural in ("deployments", "replicasets") and r.group == "apps":
        if r.plural == "deployments":
            cols = [col("Name", fmt="name"), col("Ready"), col("Up-to-date"), col("Available"), col("Age")]
        else:
            cols = [col("Name", fmt="name"), col("Desired"), col("Current"), col("Ready"), col("Age")]
        for o in objs:
            st, sp = o.get("status", {}), o.get("spec", {})
            if r.plural == "deployments":
                cells = [o["metadata"]["name"], "%d/%d" % (st.get("readyReplicas", 0), sp.get("replicas", 1)),
                         str(st.get("updatedReplicas", 0)), str(st.get("availableReplicas", 0)),
                         ku.age(o["metadata"].get("creationTimestamp"))]
            else:
                cells = [o["metadata"]["name"], str(sp.get("replicas", 1)), str(st.get("replicas", 0)),
                         str(st.get("readyReplicas", 0)), ku.age(o["metadata"].get("creationTimestamp"))]
            rows.append({"cells": cells, "object": pmeta(o)})
    else:
        cols = [col("Name", fmt="name"), col("Age")]
        for o in objs:
            rows.append({"cells": [o["metadata"]["name"], ku.age(o["metadata"].get("creationTimestamp"))],
                         "object": pmeta(o)})
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta,
            "columnDefinitions": cols, "rows": rows}


# --- HTTP -------------------------------------------------------------------

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sandbox-apiserver"
    api = None      # set on the class at start
    quiet = True

    def log_message(self, fmt, *args):
        if not self.quiet:
            sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))

    def send_json(self, code, obj, headers=None):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Audit-Id", self.audit_id)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_error_status(self, e):
        self.send_json(e.code, e.status(), e.headers)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > 16 * 1024 * 1024:
            raise ku.APIError(413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728")
        if n:
            return self.rfile.read(n)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                line = self.rfile.readline()
                size = int(line.strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                data += self.rfile.read(size)
                self.rfile.readline()
            return data
        return b""

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def handle_any(self, method):
        self.audit_id = "%032x" % random.getrandbits(128)
        api = self.api
        try:
            u = urllib.parse.urlsplit(self.path)
            qa = urllib.parse.parse_qs(u.query, keep_blank_values=True)
            q = {k: v[-1] for k, v in qa.items()}
            self.query_all = qa
            path = u.path.rstrip("/") or "/"
            body = self.read_body() if method in ("POST", "PUT", "PATCH", "DELETE") else b""
            if body and "protobuf" in self.headers.get("Content-Type", ""):
                try:
                    obj = k8spb.decode(body)
                except (ValueError, IndexError, UnicodeDecodeError):
                    obj = None
                if obj is None:
                    raise ku.APIError(415, "UnsupportedMediaType",
                                      'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml')
                body = json.dumps(obj).encode()
            f = api.faults.get()
            if f.get("latency_ms"):
                time.sleep(float(f["latency_ms"]) / 1000.0)
            tok = self.headers.get("Authorization", "")
            user = None
            if tok.startswith("Bearer "):
                user = api.tokens.lookup(tok[7:].strip())
            if user is None:
                raise ku.unauthorized()
            if path in ("/healthz", "/readyz", "/livez"):
                body = b"ok"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(body)
                return
            if path == "/version":
                return self.send_json(200, K8S_VERSION)
            if path == "/api":
                return self.send_json(200, {"kind": "APIVersions", "versions": ["v1"],
                                            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                                                            "serverAddress": self.server_addr()}]})
            if path == "/apis":
                return self.send_json(200, self.group_list())
            if path == "/openapi/v3":
                return self.send_json(200, self.openapi_root())
            if path.startswith("/openapi/v3/"):
                doc = self.openapi_gv(path[len("/openapi/v3/"):])
                if doc is not None:
                    return self.send_json(200, doc)
            if path.startswith("/openapi"):
                raise ku.APIError(404, "NotFound", "the server could not find the requested resource")
            m = re.match(r'^/api/v1(/.*)?$', path)
            group = version = None
            rest = None
            if m:
                group, version, rest = "", "v1", m.group(1) or ""
            else:
                m = re.match(r'^/apis/([^/]+)/([^/]+)(/.*)?$', path)
                if m:
                    group, version, rest = m.group(1), m.group(2), m.group(3) or ""
                else:
                    m = re.match(r'^/apis/([^/]+)$', path)
                    if m:
                        g = [x for x in self.group_list()["groups"] if x["name"] == m.group(1)]
                        if g:
                            return self.send_json(200, dict(g[0], kind="APIGroup", apiVersion="v1"))
                    raise ku.APIError(404, "NotFound", "the server could not find the requested resource")
            if rest == "":
                rl = self.resource_list(group, version)
                if rl is None:
                    raise ku.APIError(404, "NotFound", "the server could not find the requested resource")
                return self.send_json(200, rl)
            # faults only on resource requests, so discovery stays usable
            n = api.faults.tick()
            if f.get("throttle_every") and n % int(f["throttle_every"]) == 0:
                raise ku.too_many_requests(int(f.get("retry_after", 1)))
            if f.get("error_every") and n % int(f["error_every"]) == 0:
                raise ku.internal_error("sandbox fault injection")
            parts = [urllib.parse.unquote(p) for p in rest.strip("/").split("/")]
            watch_path = False
            if parts and parts[0] == "watch":
                watch_path = True
                parts = parts[1:]
            ns = name = sub = ""
            if parts[0] == "namespaces" and len(parts) >= 3 and parts[2] not in ("status", "finalize"):
                ns, parts = parts[1], parts[2:]
            plural = parts[0]
            if len(parts) > 1:
                name = parts[1]
            if len(parts) > 2:
                sub = parts[2]
            if len(parts) > 3:
                raise ku.APIError(404, "NotFound", "the server could not find the requested resource")
            r = api.find(group, version, plural)
            if r is None or (sub and sub not in r.sub):
                raise ku.APIError(404, "NotFound", "the server could not find the requested resource")
            if r.namespaced is False and ns:
                raise ku.APIError(404, "NotFound", "the server could not find the requested resource")
            watch = watch_path or q.get("watch") in ("true", "1")
            verb = {"GET": "get" if name else ("watch" if watch else "list"), "POST": "create",
                    "PUT": "update", "PATCH": "patch",
                    "DELETE": "delete" if name else "deletecollection"}[method]
            if watch and name:
                verb = "watch"
            if sub == "exec":
                verb = "create"   # websocket GETs too (AuthorizePodWebsocketUpgradeCreatePermission)
            # system:basic-user lets every authenticated user ask about itself
            if plural != "selfsubjectaccessreviews" and not api.allowed(user, verb, group, plural, sub, ns, name):
                raise ku.forbidden_rbac(user["username"], verb, plural, group, ns, name, sub)
            return self.dispatch(method, verb, r, ns, name, sub, q, body, user)
        except ku.APIError as e:
            self.send_error_status(e)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass
        except Exception as e:  # a bug: answer 500 like the real server
            import traceback
            traceback.print_exc()
            try:
                self.send_error_status(ku.internal_error("%s: %s" % (type(e).__name__, e)))
            except Exception:
                pass

    def server_addr(self):
        return "%s:%d" % self.server.server_address[:2]

    def group_list(self):
        groups = {}
        for (g, v, _), r in sorted(self.api.res.items()):
            if g == "":
                continue
            groups.setdefault(g, [])
            if v not in groups[g]:
                groups[g].append(v)
        out = []
        for g, vs in sorted(groups.items()):
            vers = [{"groupVersion": "%s/%s" % (g, v), "version": v} for v in vs]
            out.append({"name": g, "versions": vers, "preferredVersion": vers[0]})
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": out}

    def openapi_root(self):
        gvs = sorted({(g, v) for (g, v, _) in self.api.res})
        paths = {}
        for g, v in gvs:
            key = "api/v1" if g == "" else "apis/%s/%s" % (g, v)
            h = hashlib.sha256(ku.dumps(self.openapi_gv(key)).encode()).hexdigest()[:32].upper()
            paths[key] = {"serverRelativeURL": "/openapi/v3/%s?hash=%s" % (key, h)}
        return {"paths": paths}

    def openapi_gv(self, key):
        """A minimal OpenAPI v3 document for one group/version: one path per
        resource whose PATCH names its GVK and takes fieldValidation, which is
        what kubectl looks for to leave validation to the server."""
        if key == "api/v1":
            g, v = "", "v1"
        else:
            m = re.match(r'^apis/([^/]+)/([^/]+)$', key)
            if not m:
                return None
            g, v = m.group(1), m.group(2)
        rs = [r for (rg, rv, _), r in self.api.res.items() if rg == g and rv == v]
        if not rs:
            return None
        paths = {}
        params = [{"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
                  for n in ("dryRun", "fieldManager", "fieldValidation", "force")]
        schemas = {}
        for r in rs:
            gvk = {"group": g, "version": v, "kind": r.kind}
            prefix = "/" + key + ("/namespaces/{namespace}" if r.namespaced else "")
            op = {"x-kubernetes-group-version-kind": gvk, "x-kubernetes-action": "patch",
                  "parameters": params, "operationId": "patch" + r.kind,
                  "requestBody": {"content": {t: {"schema": {"type": "object"}} for t in (
                      "application/json-patch+json", "application/merge-patch+json",
                      "application/strategic-merge-patch+json", "application/apply-patch+yaml")}},
                  "responses": {"200": {"description": "OK"}}}
            paths[prefix + "/" + r.plural + "/{name}"] = {"patch": op}
        return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.0"},
                "paths": paths, "components": {"schemas": schemas}}

    def resource_list(self, group, version):
        rs = [r for (g, v, _), r in sorted(self.api.res.items()) if g == group and v == version]
        if not rs:
            return None
        out = []
        for r in rs:
            e = {"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced,
                 "kind": r.kind, "verbs": r.verbs}
            if r.short:
                e["shortNames"] = r.short
            if r.categories:
                e["categories"] = r.categories
            e["storageVersionHash"] = base64.b64encode(hashlib.sha256(r.rkey.encode()).digest()[:8]).decode()
            out.append(e)
            for s in r.sub:
                verbs = {"log": ["get"], "ephemeralcontainers": ["get", "patch", "update"], "exec": ["create", "get"],
                         "eviction": ["create"],
                         "finalize": ["update"]}.get(s, ["get", "patch", "update"])
                out.append({"name": r.plural + "/" + s, "singularName": "", "namespaced": r.namespaced,
                            "kind": r.kind, "verbs": verbs})
        gv = "%s/%s" % (group, version) if group else version
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": out}

    def wants_table(self):
        acc = self.headers.get("Accept", "")
        return "as=Table" in acc

    def dispatch(self, method, verb, r, ns, name, sub, q, body, user):
        try:
            return self._dispatch(method, verb, r, ns, name, sub, q, body, user)
        finally:
            self.__dict__.pop("send_json", None)   # the connection may carry more requests

    def _dispatch(self, method, verb, r, ns, name, sub, q, body, user):
        if r.group == "events.k8s.io":
            plain = self.send_json

            def conv(code, obj, headers=None):
                if isinstance(obj, dict) and obj.get("kind") == "EventList":
                    obj = dict(obj, apiVersion="events.k8s.io/v1",
                               items=[{k: v for k, v in core_to_ev(i).items() if k not in ("apiVersion", "kind")}
                                      for i in obj["items"]])
                elif isinstance(obj, dict) and obj.get("kind") == "Event" or (
                        isinstance(obj, dict) and "involvedObject" in obj):
                    obj = core_to_ev(obj)
                return plain(code, obj, headers)
            self.send_json = conv
            if self.wants_table() and verb in ("list", "get", "watch"):
                r = self.api.core_events()
        api = self.api
        if r.plural == "selfsubjectaccessreviews":
            return self.access_review(body, user)
        if r.namespaced and not ns and verb not in ("list", "watch"):
            raise ku.APIError(404, "NotFound", "the server could not find the requested resource")
        if verb == "watch":
            return self.watch(r, ns, name, q)
        if verb == "list":
            lst = api.list(r, ns or None, q)
            if self.wants_table():
                return self.send_json(200, table_for(r, lst["items"], lst["metadata"]))
            return self.send_json(200, lst)
        if verb == "get" and sub == "scale":
            return self.scale(r, ns, name, verb, body)
        if verb == "get":
            if sub == "log":
                return self.pod_log(ns, name, q)
            if sub == "exec":
                return self.pod_exec(ns, name, q)
            o = api.store.get(r.rkey, ns, name)
            if o is None:
                raise ku.not_found(r.plural, name, r.group)
            if self.wants_table():
                return self.send_json(200, table_for(r, [o], {"resourceVersion": o["metadata"]["resourceVersion"]}))
            return self.send_json(200, o)
        if verb == "create" and sub == "exec":
            return self.pod_exec(ns, name, q)
        if verb == "create" and sub == "eviction":
            return self.send_json(201, api.evict(ns, name, body))
        if verb == "create":
            try:
                obj = json.loads(body or b"null")
            except ValueError as e:
                raise ku.bad_request("the body of the request was in an unknown format: %s" % e)
            if q.get("dryRun"):
                obj = api.prepare_new(r, ns, obj, user, q.get("fieldValidation"))
                return self.send_json(201, obj)
            if not sub and r.group != "events.k8s.io":
                api.concurrent_create(r, ns, obj, user, q.get("fieldValidation"))
            out = api.create(r, ns, obj, user, q.get("fieldValidation"))
            return self.send_json(201, out)
        if verb == "update":
            try:
                obj = json.loads(body or b"null")
            except ValueError as e:
                raise ku.bad_request("the body of the request was in an unknown format: %s" % e)
            if not sub:
                api.concurrent_update(r, ns, name)
            if sub == "ephemeralcontainers":
                cur = api.store.get("/pods", ns, name)
                if cur is None:
                    raise ku.not_found("pods", name)
                out = api.update_ephemeral(ns, name, cur, obj)
            else:
                out = api.update(r, ns, name, obj, sub, q.get("fieldValidation"))
            return self.send_json(200, out)
        if sub == "scale" and verb in ("get", "update", "patch"):
            return self.scale(r, ns, name, verb, body)
        if verb == "patch":
            out = api.patch(r, ns, name, self.headers.get("Content-Type"), body, sub)
            return self.send_json(200, out)
        if verb == "delete":
            opts = {}
            if body:
                try:
                    opts = json.loads(body)
                except ValueError:
                    opts = {}
            if "gracePeriodSeconds" in q:
                opts["gracePeriodSeconds"] = int(q["gracePeriodSeconds"])
            obj, gone = api.delete_object(r, ns, name, opts)
            if r.plural in ("pods", "namespaces") and r.group == "" or r.group == "apps" or r.crd:
                return self.send_json(200, obj)
            return self.send_json(200, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                        "status": "Success",
                                        "details": {"name": name, "group": r.group, "kind": r.plural,
                                                    "uid": obj["metadata"]["uid"]}})
        if verb == "deletecollection":
            lst = api.list(r, ns or None, q)
            for o in lst["items"]:
                try:
                    api.delete_object(r, o["metadata"].get("namespace", ""), o["metadata"]["name"], {})
                except ku.APIError:
                    pass
            return self.send_json(200, {"kind": r.kind + "List", "apiVersion": r.api_version,
                                        "metadata": {}, "items": lst["items"]})
        raise ku.APIError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def scale(self, r, ns, name, verb, body):
        """The autoscaling/v1 Scale subresource of deployments and replicasets."""
        api = self.api
        cur = api.store.get(r.rkey, ns, name)
        if cur is None:
            raise ku.not_found(r.plural, name, r.group)

        def as_scale(o):
            sel = (o["spec"].get("selector") or {}).get("matchLabels") or {}
            return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                    "metadata": {k: o["metadata"][k] for k in ("name", "namespace", "uid", "resourceVersion",
                                                                "creationTimestamp") if k in o["metadata"]},
                    "spec": {"replicas": o["spec"].get("replicas", 1)},
                    "status": {"replicas": o.get("status", {}).get("replicas", 0),
                               "selector": ",".join("%s=%s" % kv for kv in sorted(sel.items()))}}
        if verb == "get":
            return self.send_json(200, as_scale(cur))
        try:
            p = json.loads(body or b"null")
        except ValueError as e:
            raise ku.bad_request("error decoding: %s" % e)
        if verb == "patch":
            ct = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            sc = as_scale(cur)
            new = ku.json_patch(sc, p) if ct == "application/json-patch+json" else ku.json_merge_patch(sc, p)
        else:
            new = p
        reps = (new.get("spec") or {}).get("replicas")
        if not isinstance(reps, int) or reps < 0:
            raise ku.invalid("Scale", name, [("FieldValueInvalid", "spec.replicas", "%s: must be greater than or equal to 0" % reps)])
        want_rv = (new.get("metadata") or {}).get("resourceVersion") if verb == "update" else None
        if want_rv and want_rv != cur["metadata"]["resourceVersion"]:
            raise ku.conflict(r.plural, name, r.group)
        cur["spec"]["replicas"] = reps
        out = api.store.update(r.rkey, ns, name, cur, r.plural, r.group, check_rv=False, bump_generation=True)
        return self.send_json(200, as_scale(out))

    def access_review(self, body, user):
        try:
            obj = json.loads(body or b"{}")
        except ValueError:
            raise ku.bad_request("bad body")
        ra = obj.get("spec", {}).get("resourceAttributes") or {}
        ok = False
        if ra:
            ok = self.api.allowed(user, ra.get("verb", ""), ra.get("group", ""), ra.get("resource", ""),
                                  ra.get("subresource", ""), ra.get("namespace", ""), ra.get("name", ""))
        elif obj.get("spec", {}).get("nonResourceAttributes"):
            ok = True
        obj["status"] = {"allowed": ok}
        if not ok:
            obj["status"]["reason"] = ""
        obj.setdefault("metadata", {})["creationTimestamp"] = None
        return self.send_json(201, obj)

    def pod_log(self, ns, name, q):
        api = self.api
        pod = api.store.get("/pods", ns, name)
        if pod is None:
            raise ku.not_found("pods", name)
        spec = pod["spec"]
        all_names = [c["name"] for k in ("containers", "initContainers", "ephemeralContainers")
                     for c in spec.get(k) or []]
        cname = q.get("container")
        if not cname:
            if len(spec.get("containers", [])) == 1:
                cname = spec["containers"][0]["name"]
            else:
                raise ku.bad_request("a container name must be specified for pod %s, choose one of: [%s]" % (
                    name, " ".join(c["name"] for c in spec.get("containers", []))) + (
                    " or one of the init containers: [%s]" % " ".join(c["name"] for c in spec["initContainers"])
                    if spec.get("initContainers") else "") + (
                    " or one of the ephemeral containers: [%s]" % " ".join(c["name"] for c in spec["ephemeralContainers"])
                    if spec.get("ephemeralContainers") else ""))
        if cname not in all_names:
            raise ku.bad_request('container %s is not valid for pod %s' % (cname, name))
        st = pod.get("status", {})
        cst = None
        for k in ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"):
            for c in st.get(k) or []:
                if c["name"] == cname:
                    cst = c
        path = api.kubelet.log_path(pod, cname, q.get("previous") in ("true", "1")) if api.kubelet else None
        if cst is None or path is None or not os.path.exists(path):
            w = (cst or {}).get("state", {}).get("waiting", {})
            why = {"ErrImagePull": "image can't be pulled",
                   "ImagePullBackOff": "trying and failing to pull image"}.get(w.get("reason"), w.get("reason") or "ContainerCreating")
            raise ku.bad_request('container "%s" in pod "%s" is waiting to start: %s' % (cname, name, why))
        with open(path, "rb") as f:
            data = f.read()
        if q.get("sinceSeconds") or q.get("sinceTime"):
            pass  # no timestamps kept: everything is "recent"
        if q.get("tailLines"):
            n = int(q["tailLines"])
            lines = data.splitlines(keepends=True)
            data = b"".join(lines[-n:]) if n > 0 else b""
        if q.get("limitBytes"):
            data = data[:int(q["limitBytes"])]
        follow = q.get("follow") in ("true", "1")
        if not follow:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Audit-Id", self.audit_id)
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        pos = os.path.getsize(path)
        self.chunk(data)
        while True:
            time.sleep(0.2)
            try:
                size = os.path.getsize(path)
            except OSError:
                break
            if size > pos:
                with open(path, "rb") as f:
                    f.seek(pos)
                    more = f.read(size - pos)
                pos = size
                self.chunk(more)
            p = api.store.get("/pods", ns, name)
            if p is None or not api.kubelet.container_running(p, cname):
                break
        self.chunk(b"")

    # --- pods/exec over WebSocket (remotecommand v5/v4.channel.k8s.io) -------
    def ws_send(self, opcode, payload):
        n = len(payload)
        if n < 126:
            head = bytes([0x80 | opcode, n])
        elif n < 65536:
            head = bytes([0x80 | opcode, 126]) + n.to_bytes(2, "big")
        else:
            head = bytes([0x80 | opcode, 127]) + n.to_bytes(8, "big")
        with self.ws_lock:
            self.wfile.write(head + payload)
            self.wfile.flush()

    def ws_recv(self):
        h = self.rfile.read(2)
        if len(h) < 2:
            return None, None
        opcode = h[0] & 0x0F
        n = h[1] & 0x7F
        if n == 126:
            n = int.from_bytes(self.rfile.read(2), "big")
        elif n == 127:
            n = int.from_bytes(self.rfile.read(8), "big")
        mask = self.rfile.read(4) if h[1] & 0x80 else None
        data = self.rfile.read(n)
        if mask:
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        return opcode, data

    def pod_exec(self, ns, name, q):
        api = self.api
        pod = api.store.get("/pods", ns, name)
        if pod is None:
            raise ku.not_found("pods", name)
        cmd = self.query_all.get("command") or []
        if not cmd:
            raise ku.bad_request("you must specify at least 1 command")
        names = [c["name"] for c in pod["spec"].get("containers", [])]
        cname = q.get("container") or (names[0] if len(names) == 1 else "")
        if not cname:
            raise ku.bad_request("a container name must be specified for pod %s, choose one of: [%s]" % (name, " ".join(names)))
        cid = api.kubelet.container_id(pod, cname) if api.kubelet else None
        if not cid:
            raise ku.bad_request('container %s is not valid for pod %s' % (cname, name)
                                 if cname not in names else 'unable to upgrade connection: container not found ("%s")' % cname)
        if self.headers.get("Upgrade", "").lower() != "websocket":
            raise ku.bad_request("Upgrade request required")
        protos = [p.strip() for p in self.headers.get("Sec-WebSocket-Protocol", "").split(",")]
        proto = next((p for p in ("v5.channel.k8s.io", "v4.channel.k8s.io") if p in protos), None)
        if proto is None:
            raise ku.bad_request("unable to upgrade connection: no supported subprotocol (v5.channel.k8s.io, v4.channel.k8s.io)")
        key = self.headers.get("Sec-WebSocket-Key", "")
        accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.send_header("Sec-WebSocket-Protocol", proto)
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        self.ws_lock = threading.Lock()
        want_stdin = q.get("stdin") in ("true", "1")
        p = subprocess.Popen(["runc", "--root", api.kubelet.root, "exec", cid] + cmd,
                             stdin=subprocess.PIPE if want_stdin else subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)

        def pump(src, ch):
            while True:
                data = src.read1(32768) if hasattr(src, "read1") else src.read(32768)
                if not data:
                    break
                try:
                    self.ws_send(2, bytes([ch]) + data)
                except OSError:
                    break

        def feed():
            while True:
                try:
                    op, data = self.ws_recv()
                except (OSError, ValueError):
                    op = None
                if op is None or op == 8:
                    break
                if op == 9:
                    self.ws_send(10, data)
                    continue
                if not data:
                    continue
                if data[0] == 0 and p.stdin:
                    try:
                        p.stdin.write(data[1:])
                        p.stdin.flush()
                    except OSError:
                        pass
                elif data[0] == 255 and len(data) > 1 and data[1] == 0 and p.stdin:
                    p.stdin.close()
            if p.stdin and not p.stdin.closed:
                try:
                    p.stdin.close()
                except OSError:
                    pass
        ts = [threading.Thread(target=pump, args=(p.stdout, 1), daemon=True),
              threading.Thread(target=pump, args=(p.stderr, 2), daemon=True)]
        for t in ts:
            t.start()
        if want_stdin:
            threading.Thread(target=feed, daemon=True).start()
        rc = p.wait()
        for t in ts:
            t.join(5)
        if rc == 0:
            st = {"metadata": {}, "status": "Success"}
        else:
            st = {"metadata": {}, "status": "Failure",
                  "message": "command terminated with non-zero exit code: error executing command %s, exit code %d" % (
                      "[" + " ".join(cmd) + "]", rc),
                  "reason": "NonZeroExitCode",
                  "details": {"causes": [{"reason": "ExitCode", "message": str(rc)}]}}
        try:
            self.ws_send(2, b"\x03" + json.dumps(st).encode())
            self.ws_send(8, (1000).to_bytes(2, "big"))
        except OSError:
            pass

    def chunk(self, data):
        if data is None:
            return
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def watch(self, r, ns, name, q):
        api = self.api
        lsel, fsel = api.selectors(r, q)
        if name:
            fsel.append(("metadata.name", "=", name))
        timeout = float(q.get("timeoutSeconds") or 1800)
        f = api.faults.get()
        if f.get("drop_watch_after"):
            timeout = min(timeout, float(f["drop_watch_after"]))
        bookmarks = q.get("allowWatchBookmarks") in ("true", "1")
        rv_s = q.get("resourceVersion", "")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Audit-Id", self.audit_id)
        self.end_headers()
        s = api.store

        def match(o):
            if ns and o["metadata"].get("namespace") != ns:
                return False
            return ku.label_match(lsel, o["metadata"].get("labels")) and ku.field_match(fsel, o)

        as_table = self.wants_table()

        def send(typ, o):
            if r.group == "events.k8s.io" and typ in ("ADDED", "MODIFIED", "DELETED"):
                o = core_to_ev(o)
            if as_table and typ != "ERROR":
                if typ == "BOOKMARK":
                    o = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"],
                         "columnDefinitions": None, "rows": None}
                else:
                    o = table_for(r, [o], {"resourceVersion": o["metadata"].get("resourceVersion", "")})
            self.chunk((ku.dumps({"type": typ, "object": o}) + "\n").encode())

        with s.lock:
            if rv_s in ("", "0"):
                items, cur = s.list(r.rkey, ns or None)
                initial = [o for o in items if match(o)]
                last = cur
            else:
                try:
                    want = int(rv_s)
                except ValueError:
                    raise ku.bad_request('invalid resource version "%s"' % rv_s)
                oldest = s.oldest_rv()
                initial = None
                last = want
                if want < oldest - 1 or (f.get("expire_watch") and want < s.rv):
                    err = ku.APIError(410, "Expired", "too old resource version: %d (%d)" % (
                        want, s.rv if f.get("expire_watch") else oldest - 1))
                    initial = "expired"
        if initial == "expired":
            send("ERROR", err.status())
            self.chunk(b"")
            return
        for o in initial or []:
            o["apiVersion"], o["kind"] = r.api_version, r.kind
            send("ADDED", o)
        deadline = time.time() + timeout
        last_bookmark = time.time()
        # track objects seen so that a label change out of the selector is a DELETED
        while True:
            with s.lock:
                evs = [h for h in s.events_since(last)]
                if not evs:
                    left = deadline - time.time()
                    if left <= 0:
                        break
                    s.cond.wait(min(left, 1.0))
                    evs = s.events_since(last)
                cur_rv = s.rv
            for rv, rkey, typ, o in evs:
                last = rv
                if rkey != r.rkey:
                    continue
                if match(o):
                    o = copy.deepcopy(o)
                    o["apiVersion"], o["kind"] = r.api_version, r.kind
                    send(typ, o)
            if bookmarks and time.time() - last_bookmark > 5:
                send("BOOKMARK", {"kind": r.kind, "apiVersion": r.api_version,
                                  "metadata": {"resourceVersion": str(cur_rv)}})
                last_bookmark = time.time()
            if time.time() >= deadline:
                break
        if f.get("drop_watch_after"):
            # a dropped stream: no terminating chunk, the connection just closes
            self.close_connection = True
            try:
                self.connection.shutdown(2)
            except OSError:
                pass
            return
        self.chunk(b"")


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, addr, handler, ctx):
        self.ctx = ctx
        super().__init__(addr, handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        return self.ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def finish_request(self, request, client_address):
        try:
            request.settimeout(60)
            request.do_handshake()
            request.settimeout(None)
        except (ssl.SSLError, OSError):
            return
        super().finish_request(request, client_address)


def make_certs(d):
    """CA + server certificate for 127.0.0.1/localhost, with the openssl CLI."""
    ca_key, ca_crt = os.path.join(d, "ca.key"), os.path.join(d, "ca.crt")
    key, csr, crt = os.path.join(d, "server.key"), os.path.join(d, "server.csr"), os.path.join(d, "server.crt")
    if os.path.exists(crt) and os.path.exists(ca_crt):
        return
    run = lambda *a: subprocess.run(a, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", ca_key, "-out", ca_crt, "-days", "7", "-subj", "/CN=sandbox-ca",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", key, "-out", csr, "-subj", "/CN=kube-apiserver")
    ext = os.path.join(d, "server.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc\n"
                "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n")
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
        "-out", crt, "-days", "7", "-extfile", ext)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--registry", default="")
    ap.add_argument("--no-kubelet", action="store_true")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    d = os.path.abspath(a.dir)
    make_certs(d)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(d, "server.crt"), os.path.join(d, "server.key"))
    api = API(d)
    Handler.api = api
    Handler.quiet = not a.verbose
    import controllers
    api.controllers.append(controllers.Controllers(api))
    for c in api.controllers:
        c.start()
    if not a.no_kubelet:
        import kubelet
        api.kubelet = kubelet.Kubelet(api, d, a.registry)
        api.kubelet.start()
    srv = Server(("127.0.0.1", a.port), Handler, ctx)
    port = srv.server_address[1]
    with open(os.path.join(d, "apiserver.port.tmp"), "w") as f:
        f.write(str(port))
    os.rename(os.path.join(d, "apiserver.port.tmp"), os.path.join(d, "apiserver.port"))

    def stop(signum, frame):
        threading.Thread(target=srv.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        if api.kubelet:
            api.kubelet.shutdown()


if __name__ == "__main__":
    main()
