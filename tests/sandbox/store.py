"""store - the sandbox API server's object store: one global resourceVersion
that increases on every write, optimistic concurrency (409 on a stale
metadata.resourceVersion), an event history for watches, and listeners
(the kubelet and the controllers) told of every change.
"""
import collections
import copy
import threading
import uuid

import k8sutil as ku


class Store:
    def __init__(self, history=5000):
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.rv = 1000
        self.objs = {}          # (rkey, ns, name) -> obj
        self.history = collections.deque(maxlen=history)  # (rv, rkey, type, obj)
        self.listeners = []     # fn(type, rkey, obj), called under the lock: must not block

    # rkey is "group/resource", "" group for core: "/pods", "apps/deployments"

    def _bump(self):
        self.rv += 1
        return self.rv

    def _emit(self, typ, rkey, obj):
        self.history.append((self.rv, rkey, typ, obj))
        for fn in self.listeners:
            try:
                fn(typ, rkey, obj)
            except Exception:  # a listener bug must not break the store
                import traceback
                traceback.print_exc()
        self.cond.notify_all()

    def oldest_rv(self):
        with self.lock:
            return self.history[0][0] if self.history else self.rv + 1

    def get(self, rkey, ns, name):
        with self.lock:
            o = self.objs.get((rkey, ns or "", name))
            return copy.deepcopy(o) if o is not None else None

    def list(self, rkey, ns=None):
        with self.lock:
            out = [copy.deepcopy(o) for (rk, ons, _), o in self.objs.items()
                   if rk == rkey and (ns is None or ons == ns)]
            return out, self.rv

    def create(self, rkey, ns, obj, resource, group=""):
        with self.lock:
            md = obj.setdefault("metadata", {})
            name = md.get("name")
            key = (rkey, ns or "", name)
            if key in self.objs:
                raise ku.already_exists(resource, name, group)
            if ns:
                md["namespace"] = ns
            md["uid"] = str(uuid.uuid4())
            md["creationTimestamp"] = ku.now_rfc3339()
            md.pop("deletionTimestamp", None)
            md["resourceVersion"] = str(self._bump())
            if "generation" in md or rkey.startswith("apps/"):
                md["generation"] = 1
            self.objs[key] = copy.deepcopy(obj)
            self._emit("ADDED", rkey, copy.deepcopy(obj))
            return obj

    def update(self, rkey, ns, name, obj, resource, group="", check_rv=True, bump_generation=False):
        with self.lock:
            key = (rkey, ns or "", name)
            cur = self.objs.get(key)
            if cur is None:
                raise ku.not_found(resource, name, group)
            md = obj.setdefault("metadata", {})
            want = md.get("resourceVersion")
            if check_rv and want and want != cur["metadata"]["resourceVersion"]:
                raise ku.conflict(resource, name, group)
            # immutable metadata
            for f in ("uid", "creationTimestamp", "namespace", "name"):
                if f in cur["metadata"]:
                    md[f] = cur["metadata"][f]
            if "deletionTimestamp" in cur["metadata"]:
                md["deletionTimestamp"] = cur["metadata"]["deletionTimestamp"]
                if "deletionGracePeriodSeconds" in cur["metadata"]:
                    md["deletionGracePeriodSeconds"] = cur["metadata"]["deletionGracePeriodSeconds"]
            if "generation" in cur["metadata"]:
                md["generation"] = cur["metadata"]["generation"] + (1 if bump_generation else 0)
            if obj == cur or _same_but_rv(obj, cur):
                return copy.deepcopy(cur)   # no-op writes do not bump rv
            md["resourceVersion"] = str(self._bump())
            self.objs[key] = copy.deepcopy(obj)
            self._emit("MODIFIED", rkey, copy.deepcopy(obj))
            return obj

    def mutate(self, rkey, ns, name, fn, resource="", group=""):
        """Read-modify-write under the lock; fn(obj) changes obj in place and
        may return False to skip the write. Returns the new object or None."""
        with self.lock:
            cur = self.get(rkey, ns, name)
            if cur is None:
                return None
            if fn(cur) is False:
                return cur
            return self.update(rkey, ns, name, cur, resource, group, check_rv=False)

    def delete(self, rkey, ns, name, resource, group=""):
        with self.lock:
            key = (rkey, ns or "", name)
            cur = self.objs.pop(key, None)
            if cur is None:
                raise ku.not_found(resource, name, group)
            cur["metadata"]["resourceVersion"] = str(self._bump())
            self._emit("DELETED", rkey, copy.deepcopy(cur))
            return cur

    def events_since(self, rv):
        """History entries with rv > given rv."""
        with self.lock:
            return [h for h in self.history if h[0] > rv]


def _same_but_rv(a, b):
    a = copy.deepcopy(a)
    b = copy.deepcopy(b)
    a.get("metadata", {}).pop("resourceVersion", None)
    b.get("metadata", {}).pop("resourceVersion", None)
    return a == b
