"""crdschema - what a real API server does with a custom resource against
its CRD's structural openAPIV3Schema (k8s.io/apiextensions-apiserver):
prune the fields the schema does not declare (or, with
?fieldValidation=Strict, refuse them: 400 "strict decoding error: unknown
field ..."), then validate types, enums and required fields (422 Invalid
with one cause per field, worded as upstream's field.ErrorList).

Covers the subset of OpenAPI v3 that structural schemas use: type,
properties, additionalProperties, items, enum, required, nullable,
x-kubernetes-preserve-unknown-fields, x-kubernetes-int-or-string,
x-kubernetes-embedded-resource. Not covered: CEL rules, formats, minimum/
maximum, pattern, defaults.
"""
import json

GO_TYPE = {"string": "string", "integer": "integer", "number": "number",
           "boolean": "boolean", "object": "object", "array": "array"}


def _type_of(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def _type_ok(want, v):
    got = _type_of(v)
    if want == "number":
        return got in ("number", "integer")
    if want == "integer" and got == "number":
        return float(v).is_integer()
    return got == want


def _short(v):
    if isinstance(v, (dict, list)):
        return _type_of(v)
    return json.dumps(v) if isinstance(v, str) else json.dumps(v)


def _join(path, key):
    return key if not path else path + "." + key


def prune(schema, obj, path="", unknown=None, top=True):
    """Remove undeclared fields from obj in place; their paths go to
    unknown (a list). metadata, apiVersion and kind at the top (and at an
    embedded resource) are the server's, never pruned here."""
    if unknown is None:
        unknown = []
    if not isinstance(schema, dict):
        return unknown
    if schema.get("x-kubernetes-preserve-unknown-fields") and "properties" not in schema \
            and "additionalProperties" not in schema and "items" not in schema:
        return unknown
    if isinstance(obj, dict):
        props = schema.get("properties")
        addl = schema.get("additionalProperties")
        keep_meta = top or schema.get("x-kubernetes-embedded-resource")
        for k in list(obj.keys()):
            if keep_meta and k in ("apiVersion", "kind", "metadata"):
                continue
            if props is not None and k in props:
                prune(props[k], obj[k], _join(path, k), unknown, False)
            elif isinstance(addl, dict):
                prune(addl, obj[k], _join(path, k), unknown, False)
            elif addl is True or schema.get("x-kubernetes-preserve-unknown-fields"):
                continue
            elif props is not None or addl is False:
                unknown.append(_join(path, k))
                del obj[k]
    elif isinstance(obj, list) and isinstance(schema.get("items"), dict):
        for i, v in enumerate(obj):
            prune(schema["items"], v, "%s[%d]" % (path, i), unknown, False)
    return unknown


def validate(schema, obj, path="", causes=None, top=True):
    """Causes (type, field, detail) for ku.invalid, as the real server
    words them."""
    if causes is None:
        causes = []
    if not isinstance(schema, dict):
        return causes
    if obj is None:
        return causes   # a null of a non-nullable field is dropped, not refused
    want = schema.get("type")
    if schema.get("x-kubernetes-int-or-string"):
        if _type_of(obj) not in ("integer", "string"):
            causes.append(("FieldValueTypeInvalid", path, '"%s": %s in body must be of type '
                           'integer,string: "%s"' % (_type_of(obj), path, _type_of(obj))))
        return causes
    if want and not _type_ok(want, obj):
        causes.append(("FieldValueTypeInvalid", path, '"%s": %s in body must be of type %s: "%s"' % (
            _type_of(obj), path, GO_TYPE.get(want, want), _type_of(obj))))
        return causes
    if "enum" in schema and obj not in schema["enum"]:
        causes.append(("FieldValueNotSupported", path, "%s: supported values: %s" % (
            _short(obj), ", ".join(_short(e) for e in schema["enum"]))))
    if isinstance(obj, dict):
        props = schema.get("properties") or {}
        for req in schema.get("required") or []:
            if req not in obj:
                causes.append(("FieldValueRequired", _join(path, req), ""))
        for k, v in obj.items():
            if top and k in ("apiVersion", "kind", "metadata"):
                if k == "metadata" and not isinstance(v, dict):
                    causes.append(("FieldValueTypeInvalid", "metadata", '"%s": metadata in body must be of type object: "%s"' % (
                        _type_of(v), _type_of(v))))
                continue
            if k in props:
                validate(props[k], v, _join(path, k), causes, False)
            elif isinstance(schema.get("additionalProperties"), dict):
                validate(schema["additionalProperties"], v, _join(path, k), causes, False)
    elif isinstance(obj, list) and isinstance(schema.get("items"), dict):
        for i, v in enumerate(obj):
            validate(schema["items"], v, "%s[%d]" % (path, i), causes, False)
    return causes


def trivial(schema):
    """True for a schema that accepts anything (the sandbox's preloaded
    CRDs): nothing to prune or check."""
    return not isinstance(schema, dict) or (
        schema.get("x-kubernetes-preserve-unknown-fields") and not schema.get("properties")
        and not schema.get("additionalProperties") and not schema.get("items"))
