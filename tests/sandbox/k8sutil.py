"""k8sutil - small pieces of Kubernetes API behaviour shared by the sandbox:
Status objects, label and field selectors, merge patches, durations.

Python 3 standard library only. Shapes follow the upstream API conventions
(k8s.io/apimachinery): a Status is {kind, apiVersion, metadata, status,
message, reason, details, code}.
"""
import copy
import datetime
import json
import re


class APIError(Exception):
    """An error the API server answers with a Status object."""

    def __init__(self, code, reason, message, details=None, headers=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self):
        s = {"kind": "Status", "apiVersion": "v1", "metadata": {},
             "status": "Failure", "message": self.message,
             "reason": self.reason}
        if self.details is not None:
            s["details"] = self.details
        s["code"] = self.code
        return s


def _details(name, kind, group=""):
    d = {}
    if name:
        d["name"] = name
    if group:
        d["group"] = group
    d["kind"] = kind
    return d


def not_found(resource, name, group=""):
    gr = resource + ("." + group if group else "")
    return APIError(404, "NotFound", '%s "%s" not found' % (gr, name),
                    _details(name, resource, group))


def already_exists(resource, name, group=""):
    gr = resource + ("." + group if group else "")
    return APIError(409, "AlreadyExists", '%s "%s" already exists' % (gr, name),
                    _details(name, resource, group))


def conflict(resource, name, group=""):
    gr = resource + ("." + group if group else "")
    return APIError(409, "Conflict",
                    'Operation cannot be fulfilled on %s "%s": the object has '
                    'been modified; please apply your changes to the latest '
                    'version and try again' % (gr, name),
                    _details(name, resource, group))


def bad_request(message):
    return APIError(400, "BadRequest", message)


def invalid(kind, name, causes, group=""):
    """causes: list of (type, field, detail), e.g. ("FieldValueForbidden",
    "spec.x", "cannot be set"). The message is built as upstream's
    field.ErrorList.ToAggregate() does."""
    type_text = {
        "FieldValueForbidden": "Forbidden",
        "FieldValueRequired": "Required value",
        "FieldValueDuplicate": "Duplicate value",
        "FieldValueInvalid": "Invalid value",
        "FieldValueTypeInvalid": "Invalid value",
        "FieldValueNotSupported": "Unsupported value",
        "FieldValueNotFound": "Not found",
    }
    msgs = []
    cl = []
    for typ, field, detail in causes:
        m = "%s: %s" % (type_text.get(typ, typ), detail) if detail else type_text.get(typ, typ)
        msgs.append("%s: %s" % (field, m))
        cl.append({"reason": typ, "message": m, "field": field})
    if len(msgs) == 1:
        body = msgs[0]
    else:
        body = "[" + ", ".join(msgs) + "]"
    d = _details(name, kind, group)
    d["causes"] = cl
    return APIError(422, "Invalid", '%s "%s" is invalid: %s' % (kind, name, body), d)


def forbidden_rbac(user, verb, resource, group, namespace, name, subresource=""):
    res = resource + ("/" + subresource if subresource else "")
    gr = resource + ("." + group if group else "")
    what = '%s "%s"' % (gr, name) if name else gr
    where = ('in the namespace "%s"' % namespace) if namespace else "at the cluster scope"
    msg = '%s is forbidden: User "%s" cannot %s resource "%s" in API group "%s" %s' % (
        what, user, verb, res, group, where)
    return APIError(403, "Forbidden", msg, _details(name, resource, group))


def unauthorized():
    return APIError(401, "Unauthorized", "Unauthorized")


def expired_continue():
    return APIError(410, "Expired",
                    "The provided continue parameter is too old to display a "
                    "consistent list result. You can start a new list without "
                    "the continue parameter, or use the continue token in this "
                    "response to retrieve the remainder of the results. "
                    "Continuing with the provided token results in an "
                    "inconsistent list - objects that were created, modified, "
                    "or deleted between the time the first chunk was returned "
                    "and now may show up in the list.")


def too_many_requests(retry_after):
    return APIError(429, "TooManyRequests",
                    "Too many requests, please try again later.",
                    {"causes": [{"reason": "",
                                 "message": "sandbox fault injection"}],
                     "retryAfterSeconds": retry_after},
                    {"Retry-After": str(retry_after)})


def internal_error(msg):
    return APIError(500, "InternalError", "Internal error occurred: " + msg,
                    {"causes": [{"message": msg}]})


# --- time ---------------------------------------------------------------

def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(s):
    try:
        return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return None


def human_duration(seconds):
    """apimachinery's duration.HumanDuration."""
    s = int(seconds)
    if s < 0:
        s = 0
    if s < 120:
        return "%ds" % s
    m = s // 60
    if m < 10:
        rs = s % 60
        return "%dm%ds" % (m, rs) if rs else "%dm" % m
    if m < 180:
        return "%dm" % m
    h = s // 3600
    if h < 8:
        rm = (s // 60) % 60
        return "%dh%dm" % (h, rm) if rm else "%dh" % h
    if h < 48:
        return "%dh" % h
    if h < 24 * 8:
        rh = h % 24
        return "%dd%dh" % (h // 24, rh) if rh else "%dd" % (h // 24)
    if h < 24 * 365 * 2:
        return "%dd" % (h // 24)
    return "%dy" % (h // 24 // 365)


def age(ts):
    t = parse_rfc3339(ts)
    if t is None:
        return "<unknown>"
    return human_duration((datetime.datetime.now(datetime.timezone.utc) - t).total_seconds())


# --- label selectors (k8s.io/apimachinery/pkg/labels) -------------------

_key_re = re.compile(r'^([a-z0-9A-Z]([-a-z0-9A-Z._]*[a-z0-9A-Z])?/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?$')


def parse_label_selector(text):
    """Returns a list of (key, op, values). ops: =, !=, in, notin, exists, !.
    Raises APIError 400 on bad syntax, with upstream-like messages."""
    reqs = []
    if text is None:
        return reqs
    s = text.strip()
    i = 0
    n = len(s)

    def err(msg):
        raise bad_request("unable to parse requirement: " + msg)

    def skip_ws():
        nonlocal i
        while i < n and s[i] == " ":
            i += 1

    while True:
        skip_ws()
        if i >= n:
            break
        neg = False
        if s[i] == "!":
            neg = True
            i += 1
            skip_ws()
        m = re.match(r'[^\s=!,()]+', s[i:])
        if not m:
            err("found '%s', expected: identifier" % s[i:i + 1])
        key = m.group(0)
        if key in ("in", "notin"):
            err("found '%s', expected: identifier" % key)
        if not _key_re.match(key) or len(key.split("/")[-1]) > 63:
            err("<nil>: Invalid value: \"%s\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character" % key)
        i += m.end()
        skip_ws()
        if neg:
            reqs.append((key, "!", []))
        elif i >= n or s[i] == ",":
            reqs.append((key, "exists", []))
        elif s.startswith("==", i):
            i += 2
            reqs.append((key, "=", [_value(s, i)]))
            i = _after_value(s, i)
        elif s.startswith("!=", i):
            i += 2
            reqs.append((key, "!=", [_value(s, i)]))
            i = _after_value(s, i)
        elif s[i] == "=":
            i += 1
            reqs.append((key, "=", [_value(s, i)]))
            i = _after_value(s, i)
        else:
            m2 = re.match(r'(notin|in)\s*\(', s[i:])
            if not m2:
                err("found '%s', expected: in, notin, =, ==, !=, gt, lt" % s[i:].split(" ")[0])
            op = m2.group(1)
            i += m2.end()
            j = s.find(")", i)
            if j < 0:
                err("found '', expected: ')'")
            vals = [v.strip() for v in s[i:j].split(",")]
            vals = [v for v in vals if v != ""] if s[i:j].strip() else []
            reqs.append((key, op, vals))
            i = j + 1
        skip_ws()
        if i < n:
            if s[i] != ",":
                err("found '%s', expected: ',' or 'end of string'" % s[i])
            i += 1
    return reqs


def _value(s, i):
    while i < len(s) and s[i] == " ":
        i += 1
    m = re.match(r'[^\s,()!=]*', s[i:])
    return m.group(0)


def _after_value(s, i):
    while i < len(s) and s[i] == " ":
        i += 1
    m = re.match(r'[^\s,()!=]*', s[i:])
    return i + m.end()


def label_match(reqs, labels):
    labels = labels or {}
    for key, op, vals in reqs:
        has = key in labels
        v = labels.get(key)
        if op == "=" and not (has and v == vals[0]):
            return False
        if op == "!=" and has and v == vals[0]:
            return False
        if op == "in" and not (has and v in vals):
            return False
        if op == "notin" and has and v in vals:
            return False
        if op == "exists" and not has:
            return False
        if op == "!" and has:
            return False
    return True


# --- field selectors ------------------------------------------------------

def parse_field_selector(text, allowed, resource):
    reqs = []
    if not text:
        return reqs
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        m = re.match(r'^([^!=]+)(==|=|!=)(.*)$', part)
        if not m:
            raise bad_request('invalid selector: \'%s\'; can\'t understand \'%s\'' % (text, part))
        key, op, val = m.group(1), m.group(2), m.group(3)
        if key not in allowed:
            raise bad_request('field label not supported: %s' % key)
        reqs.append((key, "!=" if op == "!=" else "=", val))
    return reqs


def field_value(obj, path):
    cur = obj
    for p in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(p)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def field_match(reqs, obj):
    for key, op, val in reqs:
        v = field_value(obj, key)
        if op == "=" and v != val:
            return False
        if op == "!=" and v == val:
            return False
    return True


# --- patches ----------------------------------------------------------------

def json_merge_patch(target, patch):
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    out = dict(target)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = json_merge_patch(out.get(k), v)
    return out


# merge keys used by strategic merge patch for the types the sandbox serves
MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name",
    "env": "name", "volumes": "name", "volumeMounts": "mountPath",
    "ports": "containerPort", "ownerReferences": "uid", "conditions": "type",
    "imagePullSecrets": "name", "containerStatuses": "name",
    "initContainerStatuses": "name", "ephemeralContainerStatuses": "name",
    "finalizers": None, "hostAliases": "ip", "topologySpreadConstraints": "topologyKey",
}


def strategic_merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    if patch.get("$patch") == "replace":
        p = dict(patch)
        p.pop("$patch")
        return copy.deepcopy(p)
    if patch.get("$patch") == "delete":
        return None
    out = dict(target)
    for k, v in patch.items():
        if k.startswith("$setElementOrder/") or k in ("$retainKeys", "$patch"):
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            key = k.split("/", 1)[1]
            if isinstance(out.get(key), list):
                out[key] = [x for x in out[key] if x not in v]
            continue
        if v is None:
            out.pop(k, None)
        elif isinstance(v, list) and k in MERGE_KEYS and isinstance(out.get(k), list):
            mk = MERGE_KEYS[k]
            cur = list(out[k])
            if mk is None:
                for x in v:
                    if x not in cur:
                        cur.append(x)
                out[k] = cur
                continue
            for item in v:
                if not isinstance(item, dict):
                    continue
                idx = next((i for i, c in enumerate(cur)
                            if isinstance(c, dict) and c.get(mk) == item.get(mk)), None)
                if item.get("$patch") == "delete":
                    if idx is not None:
                        cur.pop(idx)
                elif idx is None:
                    it = dict(item)
                    it.pop("$patch", None)
                    cur.append(strategic_merge_patch({}, it))
                else:
                    cur[idx] = strategic_merge_patch(cur[idx], item)
            out[k] = cur
        elif isinstance(v, dict):
            r = strategic_merge_patch(out.get(k), v)
            if r is None:
                out.pop(k, None)
            else:
                out[k] = r
        else:
            out[k] = copy.deepcopy(v)
    return out


def _ptr(path):
    if path == "":
        return []
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]


def json_patch(target, ops):
    """RFC 6902."""
    doc = copy.deepcopy(target)
    if not isinstance(ops, list):
        raise bad_request("json patch must be a list")
    for op in ops:
        parts = _ptr(op.get("path", ""))
        if not parts:
            raise bad_request("json patch: empty path")
        parent = doc
        for p in parts[:-1]:
            if isinstance(parent, list):
                parent = parent[int(p)]
            else:
                if p not in parent:
                    raise APIError(422, "Invalid", "the server rejected our request due to an error in our request")
                parent = parent[p]
        last = parts[-1]
        o = op.get("op")
        try:
            if o == "add":
                if isinstance(parent, list):
                    parent.insert(len(parent) if last == "-" else int(last), op["value"])
                else:
                    parent[last] = op["value"]
            elif o == "replace":
                if isinstance(parent, list):
                    parent[int(last)] = op["value"]
                else:
                    if last not in parent:
                        raise KeyError(last)
                    parent[last] = op["value"]
            elif o == "remove":
                if isinstance(parent, list):
                    parent.pop(int(last))
                else:
                    del parent[last]
            elif o == "test":
                cur = parent[int(last)] if isinstance(parent, list) else parent[last]
                if cur != op.get("value"):
                    raise APIError(422, "Invalid", "the server rejected our request due to an error in our request")
            else:
                raise bad_request("json patch: unsupported op %r" % o)
        except (KeyError, IndexError, ValueError):
            raise APIError(422, "Invalid",
                           "the server rejected our request due to an error in our request")
    return doc


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"))
