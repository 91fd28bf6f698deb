"""controllers - the Deployment and ReplicaSet controllers, just enough for
pods to carry real owner references: Deployment -> ReplicaSet (named
<deploy>-<pod-template-hash>) -> Pods (<rs>-<5 chars>), status counts, and
template changes rolling to a new ReplicaSet (the old one scaled to 0).
"""
import hashlib
import json
import queue
import random
import threading
import time

import k8sutil as ku

APPS = "apps/v1"


def _owned_by(o, uid):
    return any(r.get("uid") == uid and r.get("controller") for r in o["metadata"].get("ownerReferences") or [])


def _owner(o, kind):
    for r in o["metadata"].get("ownerReferences") or []:
        if r.get("controller") and r.get("kind") == kind:
            return r
    return None


class Controllers:
    def __init__(self, api):
        self.api = api
        self.q = queue.Queue()
        self.pending = set()
        self.lock = threading.Lock()

    def start(self):
        threading.Thread(target=self._run, daemon=True).start()
        threading.Thread(target=self._resync, daemon=True).start()

    def notify(self, typ, rkey, obj):
        md = obj["metadata"]
        ns = md.get("namespace", "")
        if rkey == "apps/deployments":
            self._enq(("d", ns, md["name"]))
        elif rkey == "apps/replicasets":
            self._enq(("rs", ns, md["name"]))
            o = _owner(obj, "Deployment")
            if o:
                self._enq(("d", ns, o["name"]))
        elif rkey == "/pods":
            o = _owner(obj, "ReplicaSet")
            if o:
                self._enq(("rs", ns, o["name"]))

    def _enq(self, k):
        with self.lock:
            if k in self.pending:
                return
            self.pending.add(k)
        self.q.put(k)

    def _resync(self):
        while True:
            time.sleep(5)
            for d in self.api.store.list("apps/deployments")[0]:
                self._enq(("d", d["metadata"]["namespace"], d["metadata"]["name"]))

    def _run(self):
        while True:
            k = self.q.get()
            with self.lock:
                self.pending.discard(k)
            try:
                if k[0] == "d":
                    self.deployment(k[1], k[2])
                else:
                    self.replicaset(k[1], k[2])
            except ku.APIError:
                pass
            except Exception:
                import traceback
                traceback.print_exc()

    def deployment(self, ns, name):
        s = self.api.store
        d = s.get("apps/deployments", ns, name)
        if d is None or d["metadata"].get("deletionTimestamp"):
            return
        tmpl = d["spec"].get("template") or {}
        h = hashlib.sha256(json.dumps(tmpl, sort_keys=True).encode()).hexdigest()[:10]
        h = "".join("bcdfghjklmnpqrstvwxz2456789"[int(c, 16) % 27] for c in h)
        rss = [r for r in s.list("apps/replicasets", ns)[0] if _owned_by(r, d["metadata"]["uid"])]
        want = int(d["spec"].get("replicas", 1))
        cur = None
        for r in rss:
            if r["metadata"].get("labels", {}).get("pod-template-hash") == h:
                cur = r
        if cur is None:
            t = json.loads(json.dumps(tmpl))
            t.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = h
            sel = json.loads(json.dumps(d["spec"].get("selector") or {}))
            sel.setdefault("matchLabels", {})["pod-template-hash"] = h
            rs = {"apiVersion": APPS, "kind": "ReplicaSet",
                  "metadata": {"name": "%s-%s" % (name, h), "namespace": ns,
                               "labels": dict(t["metadata"]["labels"]),
                               "annotations": {"deployment.kubernetes.io/revision": str(len(rss) + 1)},
                               "ownerReferences": [{"apiVersion": APPS, "kind": "Deployment", "name": name,
                                                    "uid": d["metadata"]["uid"], "controller": True,
                                                    "blockOwnerDeletion": True}]},
                  "spec": {"replicas": want, "selector": sel, "template": t}}
            r = self.api.find("apps", "v1", "replicasets")
            cur = self.api.create(r, ns, rs, {"username": "system:serviceaccount:kube-system:deployment-controller"})
            rss.append(cur)
        for r in rss:
            target = want if r is cur or r["metadata"]["uid"] == cur["metadata"]["uid"] else 0
            if r["spec"].get("replicas") != target:
                def fn(o, target=target):
                    o["spec"]["replicas"] = target
                s.mutate("apps/replicasets", ns, r["metadata"]["name"], fn)
        rss = [r for r in s.list("apps/replicasets", ns)[0] if _owned_by(r, d["metadata"]["uid"])]
        tot = sum(r.get("status", {}).get("replicas", 0) for r in rss)
        ready = sum(r.get("status", {}).get("readyReplicas", 0) for r in rss)
        upd = next((r.get("status", {}).get("replicas", 0) for r in rss if r["metadata"]["uid"] == cur["metadata"]["uid"]), 0)

        def fn(o):
            st = {"observedGeneration": o["metadata"].get("generation", 1), "replicas": tot,
                  "updatedReplicas": upd, "readyReplicas": ready, "availableReplicas": ready,
                  "unavailableReplicas": max(0, want - ready)}
            st = {k: v for k, v in st.items() if v or k == "observedGeneration"}
            cond_ok = ready >= want
            st["conditions"] = [{"type": "Available", "status": "True" if cond_ok else "False",
                                 "reason": "MinimumReplicasAvailable" if cond_ok else "MinimumReplicasUnavailable",
                                 "message": "Deployment has minimum availability." if cond_ok else "Deployment does not have minimum availability."}]
            old = o.get("status", {})
            for c in st["conditions"]:
                oc = next((x for x in old.get("conditions") or [] if x["type"] == c["type"]), None)
                c["lastTransitionTime"] = oc["lastTransitionTime"] if oc and oc["status"] == c["status"] else ku.now_rfc3339()
                c["lastUpdateTime"] = c["lastTransitionTime"]
            if st == old:
                return False
            o["status"] = st
        s.mutate("apps/deployments", ns, name, fn)

    def replicaset(self, ns, name):
        s = self.api.store
        rs = s.get("apps/replicasets", ns, name)
        if rs is None:
            return
        uid = rs["metadata"]["uid"]
        pods = [p for p in s.list("/pods", ns)[0] if _owned_by(p, uid)]
        live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
        want = int(rs["spec"].get("replicas", 1))
        pr = self.api.find("", "v1", "pods")
        for _ in range(want - len(live)):
            t = json.loads(json.dumps(rs["spec"].get("template") or {}))
            md = t.setdefault("metadata", {})
            md["name"] = "%s-%s" % (name, "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5)))
            md["ownerReferences"] = [{"apiVersion": APPS, "kind": "ReplicaSet", "name": name, "uid": uid,
                                      "controller": True, "blockOwnerDeletion": True}]
            pod = {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": t.get("spec", {})}
            try:
                self.api.create(pr, ns, pod, {"username": "system:serviceaccount:kube-system:replicaset-controller"})
            except ku.APIError as e:
                self._event(rs, "Warning", "FailedCreate", "Error creating: " + e.message)
                break
            else:
                self._event(rs, "Normal", "SuccessfulCreate", "Created pod: " + md["name"])
        if len(live) > want:
            for p in sorted(live, key=lambda p: p["metadata"]["name"])[want:]:
                try:
                    self.api.delete_object(pr, ns, p["metadata"]["name"], {})
                    self._event(rs, "Normal", "SuccessfulDelete", "Deleted pod: " + p["metadata"]["name"])
                except ku.APIError:
                    pass
        pods = [p for p in s.list("/pods", ns)[0] if _owned_by(p, uid) and not p["metadata"].get("deletionTimestamp")]
        ready = sum(1 for p in pods if any(c["type"] == "Ready" and c["status"] == "True"
                                           for c in p.get("status", {}).get("conditions") or []))

        def fn(o):
            st = {"replicas": len(pods), "fullyLabeledReplicas": len(pods), "readyReplicas": ready,
                  "availableReplicas": ready, "observedGeneration": o["metadata"].get("generation", 1)}
            st = {k: v for k, v in st.items() if v or k in ("replicas", "observedGeneration")}
            if o.get("status") == st:
                return False
            o["status"] = st
        s.mutate("apps/replicasets", ns, name, fn)
        o = _owner(rs, "Deployment")
        if o:
            self._enq(("d", ns, o["name"]))

    def _event(self, obj, typ, reason, msg):
        md = obj["metadata"]
        now = ku.now_rfc3339()
        ev = {"apiVersion": "v1", "kind": "Event",
              "metadata": {"name": "%s.%x" % (md["name"], time.time_ns()), "namespace": md["namespace"]},
              "involvedObject": {"kind": obj["kind"], "namespace": md["namespace"], "name": md["name"],
                                 "uid": md["uid"], "apiVersion": obj["apiVersion"],
                                 "resourceVersion": md.get("resourceVersion", "")},
              "reason": reason, "message": msg, "source": {"component": "replicaset-controller"},
              "firstTimestamp": now, "lastTimestamp": now, "count": 1, "type": typ,
              "reportingComponent": "replicaset-controller", "reportingInstance": ""}
        try:
            self.api.store.create("/events", md["namespace"], ev, "events")
        except ku.APIError:
            pass
