"""k8spb - decode the protobuf bodies that kubectl's typed clients send
(application/vnd.kubernetes.protobuf: "k8s\\0" + runtime.Unknown) for the few
kinds kubectl creates that way (kubectl create configmap/secret/namespace,
kubectl auth can-i). Field numbers are those of k8s.io/api's generated.proto.
Other kinds are refused with 415, as a server without protobuf would.
"""


def _varint(b, i):
    shift = 0
    v = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        if not c & 0x80:
            return v, i
        shift += 7


def fields(b):
    """Yields (field number, wire type, value) of one message."""
    i = 0
    while i < len(b):
        key, i = _varint(b, i)
        fn, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(b, i)
        elif wt == 2:
            n, i = _varint(b, i)
            v = b[i:i + n]
            i += n
        elif wt == 1:
            v = b[i:i + 8]
            i += 8
        elif wt == 5:
            v = b[i:i + 4]
            i += 4
        else:
            raise ValueError("wire type %d" % wt)
        yield fn, wt, v


S, B, I, BOOL = "s", "b", "i", "bool"


def MAP(vt):
    return ("map", vt)


def REP(t):
    return ("rep", t)


OWNER = {1: ("kind", S), 3: ("name", S), 4: ("uid", S), 5: ("apiVersion", S),
         6: ("controller", BOOL), 7: ("blockOwnerDeletion", BOOL)}
META = {1: ("name", S), 2: ("generateName", S), 3: ("namespace", S), 5: ("uid", S),
        6: ("resourceVersion", S), 7: ("generation", I), 11: ("labels", MAP(S)),
        12: ("annotations", MAP(S)), 13: ("ownerReferences", REP(OWNER)), 14: ("finalizers", REP(S))}
RESATTR = {1: ("namespace", S), 2: ("verb", S), 3: ("group", S), 4: ("version", S),
           5: ("resource", S), 6: ("subresource", S), 7: ("name", S)}
NONRES = {1: ("path", S), 2: ("verb", S)}
SCHEMAS = {
    ("v1", "ConfigMap"): {1: ("metadata", META), 2: ("data", MAP(S)), 3: ("binaryData", MAP(B)), 4: ("immutable", BOOL)},
    ("v1", "Secret"): {1: ("metadata", META), 2: ("data", MAP(B)), 3: ("type", S), 4: ("stringData", MAP(S)),
                       5: ("immutable", BOOL)},
    ("v1", "Namespace"): {1: ("metadata", META), 2: ("spec", {1: ("finalizers", REP(S))})},
    ("v1", "ServiceAccount"): {1: ("metadata", META)},
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): {
        1: ("metadata", META), 2: ("spec", {1: ("resourceAttributes", RESATTR), 2: ("nonResourceAttributes", NONRES)})},
}


def _decode(b, schema):
    import base64
    out = {}
    for fn, wt, v in fields(b):
        if fn not in schema:
            continue
        name, t = schema[fn]
        if isinstance(t, dict):
            out[name] = _decode(v, t)
        elif t == S:
            if v:   # gogo proto2 sends empty optional strings; JSON omits them
                out[name] = v.decode()
        elif t == B:
            out[name] = base64.b64encode(v).decode()
        elif t == I:
            out[name] = v
        elif t == BOOL:
            out[name] = bool(v)
        elif t[0] == "map":
            k = val = None
            for efn, _, ev in fields(v):
                if efn == 1:
                    k = ev.decode()
                elif efn == 2:
                    val = ev.decode() if t[1] == S else base64.b64encode(ev).decode()
            out.setdefault(name, {})[k] = val if val is not None else ""
        elif t[0] == "rep":
            out.setdefault(name, []).append(_decode(v, t[1]) if isinstance(t[1], dict) else v.decode())
    return out


def decode(body):
    """Returns the object as a dict, or None when the kind is not known."""
    if not body.startswith(b"k8s\x00"):
        return None
    api_version = kind = None
    raw = b""
    for fn, _, v in fields(body[4:]):
        if fn == 1:
            for tfn, _, tv in fields(v):
                if tfn == 1:
                    api_version = tv.decode()
                elif tfn == 2:
                    kind = tv.decode()
        elif fn == 2:
            raw = v
    schema = SCHEMAS.get((api_version, kind))
    if schema is None:
        return None
    obj = {"apiVersion": api_version, "kind": kind}
    obj.update(_decode(raw, schema))
    return obj
