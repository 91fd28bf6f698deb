#!/usr/bin/env python3
"""helm_render.py - render a Helm chart written in a small subset of Go
templates and Sprig, as `helm template` would, and refuse everything else.

There is no helm binary on the test machines. charts/runtime-verifier uses
only what this file implements; anything outside it is an error naming the
template and the line, so a template using unsupported syntax fails the
test instead of rendering silently wrong.

The subset:
  text, {{ ACTION }}, trim markers {{- and -}}, comments {{/* ... */}}
  operands: .Values.a.b, .Release.Name, .Release.Namespace, . and $
            (also $.Values...), "strings", `raw strings`, numbers, true, false
  pipelines: OPERAND | FUNC ARGS... | FUNC ARGS..., or FUNC ARGS... first
  functions: quote X, toYaml X, nindent N S, default D X, include "NAME" CTX
  control:   {{ if PIPELINE }} ... [{{ else }} ...] {{ end }}
             {{ range PIPELINE }} ... {{ end }}   (. is the element, $ the root)
             {{ define "NAME" }} ... {{ end }}    (top level; any template file)

Stricter than helm, on purpose: a value the templates read must exist in
values.yaml or the given values (Helm would print an empty string); a map or
list printed without toYaml, or a null printed, is an error (Helm prints
"map[...]" or nothing). Values merge like Helm's (maps key by key, lists
replaced, null deletes a key). Numbers print like Go's %v of a float64, as
in Helm (1000000 prints 1e+06). Every rendered document must be YAML with no
duplicate key, and carry apiVersion, kind and metadata.name.

Usage: helm_render.py CHART [-f VALUES]... [--name RELEASE] [--namespace NS] [--raw]
Prints the manifests, each under "---" and "# Source: CHART/templates/FILE",
in Helm's install order by kind. Exit 1 with "helm_render: FILE:LINE: why".
"""

import argparse
import ast
import os
import re
import sys
from decimal import Decimal

import yaml


class RenderError(Exception):
    pass


def fail(where, line, msg):
    return RenderError(f"{where}:{line}: {msg}")


# ---------------------------------------------------------------- YAML ----

class StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (kubectl and the API server do)."""


def _strict_mapping(loader, node, deep=False):
    seen = set()
    for k, _ in node.value:
        key = loader.construct_object(k, deep=True)
        try:
            dup = key in seen
        except TypeError:
            dup = False
        if dup:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", k.start_mark)
        try:
            seen.add(key)
        except TypeError:
            pass
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _strict_mapping)


def load_yaml_file(path):
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.load(f, Loader=StrictLoader)
    except OSError as e:
        raise RenderError(f"{path}: {e.strerror}")
    except yaml.YAMLError as e:
        raise RenderError(f"{path}: not valid YAML: {e}")


# ------------------------------------------------- Go value formatting ----

def go_float(v):
    """Go's fmt %v of a float64 (Helm reads every number of a values file
    as a float64): %g with the shortest digits, which switches to the %e
    form when the decimal exponent is < -4 or >= 6 (1000000 -> 1e+06)."""
    f = float(v)
    if f != f:
        return "NaN"
    if f in (float("inf"), float("-inf")):
        return "+Inf" if f > 0 else "-Inf"
    if f == 0:
        return "0"
    sign, digits, exp = Decimal(repr(f)).as_tuple()
    digits = list(digits)
    while len(digits) > 1 and digits[-1] == 0:
        digits.pop()
        exp += 1
    while len(digits) > 1 and digits[0] == 0:
        digits.pop(0)
    nd = len(digits)
    dp = nd + exp          # value = 0.DIGITS * 10^dp
    s = "-" if sign else ""
    ds = "".join(map(str, digits))
    x = dp - 1
    if x < -4 or x >= 6:
        m = ds[0] + ("." + ds[1:] if nd > 1 else "")
        return f"{s}{m}e{'-' if x < 0 else '+'}{abs(x):02d}"
    if dp <= 0:
        return f"{s}0.{'0' * -dp}{ds}"
    if dp >= nd:
        return f"{s}{ds}{'0' * (dp - nd)}"
    return f"{s}{ds[:dp]}.{ds[dp:]}"


def go_quote(s):
    """strconv.Quote (what Sprig's quote does with %q)."""
    esc = {'"': '\\"', "\\": "\\\\", "\a": "\\a", "\b": "\\b", "\f": "\\f",
           "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}
    out = ['"']
    for ch in s:
        c = ord(ch)
        if ch in esc:
            out.append(esc[ch])
        elif c < 0x20 or c == 0x7F:
            out.append(f"\\x{c:02x}")
        elif ch != " " and not ch.isprintable():
            out.append(f"\\u{c:04x}" if c < 0x10000 else f"\\U{c:08x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def type_name(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "list"
    if isinstance(v, dict):
        return "map"
    return type(v).__name__


def empty(v):
    """Sprig's empty / Go template truth, negated."""
    if v is None or v is False:
        return True
    if isinstance(v, bool):
        return False
    if isinstance(v, (int, float)):
        return v == 0
    if isinstance(v, (str, list, dict)):
        return len(v) == 0
    return False


def scalar_str(v, what):
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return go_float(v)
    if v is None:
        raise RenderError(f"{what} is null: it would print nothing (set it, or guard it with if)")
    raise RenderError(f"{what} is a {type_name(v)}: print it with toYaml, not as text")


def to_yaml(v):
    """Helm's toYaml: sigs.k8s.io/yaml (sorted keys), trailing newline removed."""
    if v is None:
        return "null"
    out = yaml.safe_dump(v, default_flow_style=False, sort_keys=True,
                         allow_unicode=True, width=1 << 20)
    if out.endswith("\n...\n"):
        out = out[:-5]
    return out[:-1] if out.endswith("\n") else out


# ---------------------------------------------------------------- lexer ----

WS = " \t\r\n"


def lex(src, name):
    """Template text -> tokens ('text', s) and ('action', body, line)."""
    toks = []
    i, line, n = 0, 1, len(src)
    while i < n:
        j = src.find("{{", i)
        if j < 0:
            toks.append(["text", src[i:], line])
            break
        toks.append(["text", src[i:j], line])
        line += src.count("\n", i, j)
        start_line = line
        k = j + 2
        trim_l = trim_r = False
        if src.startswith("-", k) and k + 1 < n and src[k + 1] in WS:
            trim_l = True
            k += 1
        p = k
        while p < n and src[p] in WS and trim_l:
            p += 1
        if src.startswith("/*", p):
            e = src.find("*/", p + 2)
            if e < 0:
                raise fail(name, start_line, "unclosed comment")
            q = e + 2
            if src.startswith(" -}}", q):
                trim_r, q = True, q + 4
            elif src.startswith("}}", q):
                q += 2
            else:
                raise fail(name, start_line, "a comment must end at the delimiter: '*/}}' or '*/ -}}'")
            toks.append(["comment", "", start_line, trim_l, trim_r])
            line += src.count("\n", j, q)
            i = q
            continue
        # the action ends at the first }} outside a string literal
        q = k
        while True:
            if q >= n:
                raise fail(name, start_line, "unclosed action: no '}}'")
            c = src[q]
            if c == '"':
                q += 1
                while q < n and src[q] != '"':
                    if src[q] == "\n":
                        raise fail(name, start_line, "newline in a string literal")
                    q += 2 if src[q] == "\\" else 1
                q += 1
            elif c == "`":
                e = src.find("`", q + 1)
                if e < 0:
                    raise fail(name, start_line, "unclosed raw string")
                q = e + 1
            elif src.startswith("}}", q):
                break
            else:
                q += 1
        body = src[k:q]
        if body.endswith("-") and len(body) >= 2 and body[-2] in WS:
            trim_r = True
            body = body[:-1]
        toks.append(["action", body, start_line, trim_l, trim_r])
        line += src.count("\n", j, q + 2)
        i = q + 2
    # apply the trim markers to the neighbouring text
    for idx, t in enumerate(toks):
        if t[0] in ("action", "comment"):
            if t[3] and idx > 0 and toks[idx - 1][0] == "text":
                toks[idx - 1][1] = toks[idx - 1][1].rstrip(WS)
            if t[4] and idx + 1 < len(toks) and toks[idx + 1][0] == "text":
                toks[idx + 1][1] = toks[idx + 1][1].lstrip(WS)
    return [t for t in toks if t[0] != "comment"]


TOKEN_RE = re.compile(r"""
   (?P<ws>\s+)
  |(?P<str>"(?:[^"\\]|\\.)*")
  |(?P<raw>`[^`]*`)
  |(?P<var>\$[A-Za-z_][A-Za-z0-9_]*)
  |(?P<field>\$?(?:\.[A-Za-z_][A-Za-z0-9_]*)+)
  |(?P<dollar>\$)
  |(?P<dot>\.)
  |(?P<num>-?[0-9]+(?:\.[0-9]+)?(?![A-Za-z0-9_.]))
  |(?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  |(?P<pipe>\|)
""", re.X)

KEYWORDS = {"if", "else", "end", "range", "define"}
REFUSED = {
    "with": "'with' is not in the subset (use if and the full path)",
    "template": "'template' is not in the subset (use include)",
    "block": "'block' is not in the subset",
    "break": "'break' is not in the subset",
    "continue": "'continue' is not in the subset",
    "nil": "'nil' is not in the subset",
}


def tokenize(body, name, line):
    out, pos = [], 0
    while pos < len(body):
        m = TOKEN_RE.match(body, pos)
        if not m:
            raise fail(name, line, f"unsupported syntax at '{body[pos:pos + 20].strip()}' in '{{{{{body.strip()}}}}}' "
                                   "(the renderer knows only pipelines of fields, literals and "
                                   "quote/toYaml/nindent/default/include)")
        kind = m.lastgroup
        text = m.group(kind)
        pos = m.end()
        if kind == "ws":
            continue
        if kind == "var":
            raise fail(name, line, f"variables ('{text}') are not in the subset: use . or $")
        out.append((kind, text))
    return out


# --------------------------------------------------------------- parser ----

class Node:
    pass


class Text(Node):
    def __init__(self, s):
        self.s = s


class Out(Node):
    def __init__(self, pipe, line):
        self.pipe, self.line = pipe, line


class If(Node):
    def __init__(self, pipe, line):
        self.pipe, self.line, self.then, self.other = pipe, line, [], None


class Range(Node):
    def __init__(self, pipe, line):
        self.pipe, self.line, self.body = pipe, line, []


FUNCS = {
    # name: number of arguments (the piped value counts as the last one)
    "quote": 1,
    "toYaml": 1,
    "nindent": 2,
    "default": 2,
    "include": 2,
}


def parse_pipeline(toks, name, line, src):
    if not toks:
        raise fail(name, line, f"empty pipeline in '{{{{{src.strip()}}}}}'")
    cmds, cur = [], []
    for t in toks:
        if t[0] == "pipe":
            cmds.append(cur)
            cur = []
        else:
            cur.append(t)
    cmds.append(cur)
    parsed = []
    for ci, cmd in enumerate(cmds):
        if not cmd:
            raise fail(name, line, f"empty command in pipeline '{{{{{src.strip()}}}}}'")
        head = cmd[0]
        if head[0] == "ident" and head[1] not in ("true", "false"):
            fn = head[1]
            if fn in REFUSED:
                raise fail(name, line, REFUSED[fn])
            if fn in KEYWORDS:
                raise fail(name, line, f"'{fn}' cannot appear inside a pipeline")
            if fn not in FUNCS:
                raise fail(name, line, f"function '{fn}' is not in the subset "
                                       f"(known: {', '.join(sorted(FUNCS))})")
            args = cmd[1:]
            for a in args:
                if a[0] == "ident" and a[1] not in ("true", "false"):
                    raise fail(name, line, f"'{a[1]}' as an argument of {fn}: nested calls need "
                                           "parentheses, which are not in the subset")
            nargs = len(args) + (1 if ci > 0 else 0)
            if nargs != FUNCS[fn]:
                raise fail(name, line, f"{fn} takes {FUNCS[fn]} argument(s), given {nargs}")
            parsed.append(("call", fn, args))
        else:
            if ci > 0:
                raise fail(name, line, f"'{head[1]}' after '|' must be a function")
            if len(cmd) != 1:
                raise fail(name, line, f"'{cmd[1][1]}' after an operand: only a function takes arguments")
            parsed.append(("operand", head))
    return parsed


def parse(tokens, name, defines):
    """Tokens -> node list; define blocks go to defines (name -> nodes)."""
    root = []
    stack = []  # (kind, node, list being filled)
    cur = root
    for t in tokens:
        if t[0] == "text":
            if t[1]:
                cur.append(Text(t[1]))
            continue
        _, body, line = t[0], t[1], t[2]
        toks = tokenize(body, name, line)
        if not toks:
            raise fail(name, line, "empty action {{ }}")
        head = toks[0]
        word = head[1] if head[0] == "ident" else None
        if word in REFUSED:
            raise fail(name, line, REFUSED[word])
        if word == "if":
            node = If(parse_pipeline(toks[1:], name, line, body), line)
            cur.append(node)
            stack.append(("if", node, cur))
            cur = node.then
        elif word == "range":
            node = Range(parse_pipeline(toks[1:], name, line, body), line)
            cur.append(node)
            stack.append(("range", node, cur))
            cur = node.body
        elif word == "else":
            if len(toks) > 1:
                raise fail(name, line, f"'else {toks[1][1]}' is not in the subset: nest an if inside else")
            if not stack or stack[-1][0] != "if" or stack[-1][1].other is not None:
                raise fail(name, line, "else without an if (else in range is not in the subset)")
            stack[-1][1].other = []
            cur = stack[-1][1].other
        elif word == "end":
            if len(toks) > 1:
                raise fail(name, line, "end takes nothing")
            if not stack:
                raise fail(name, line, "end without if, range or define")
            kind, node, parent = stack.pop()
            cur = parent
            if kind == "define":
                defines[node[0]] = (node[1], name)
        elif word == "define":
            if stack:
                raise fail(name, line, "define must be at the top level of a file")
            if len(toks) != 2 or toks[1][0] not in ("str", "raw"):
                raise fail(name, line, 'define takes one name: {{ define "NAME" }}')
            dname = ast.literal_eval(toks[1][1]) if toks[1][0] == "str" else toks[1][1][1:-1]
            if dname in defines:
                raise fail(name, line, f"template '{dname}' is defined twice (also in {defines[dname][1]})")
            body_nodes = []
            stack.append(("define", (dname, body_nodes), cur))
            cur = body_nodes
        else:
            cur.append(Out(parse_pipeline(toks, name, line, body), line))
    if stack:
        kind, node, _ = stack[-1]
        ln = node.line if hasattr(node, "line") else "?"
        raise fail(name, ln, f"unclosed {kind}: no {{{{ end }}}}")
    return root


# ------------------------------------------------------------- executor ----

class Renderer:
    def __init__(self, defines):
        self.defines = defines
        self.depth = 0

    def operand(self, tok, dot, root, name, line):
        kind, text = tok
        if kind == "str":
            try:
                return ast.literal_eval(text)
            except (ValueError, SyntaxError):
                raise fail(name, line, f"bad string literal {text}")
        if kind == "raw":
            return text[1:-1]
        if kind == "num":
            return float(text) if "." in text else int(text)
        if kind == "ident":
            return text == "true"
        if kind == "dot":
            return dot
        if kind == "dollar":
            return root
        if kind == "field":
            base = root if text.startswith("$") else dot
            path = text.lstrip("$").split(".")[1:]
            v = base
            walked = "$" if text.startswith("$") else ""
            for i, seg in enumerate(path):
                if base is root and i == 0 and seg not in ("Values", "Release"):
                    raise fail(name, line, f"'.{seg}' is not in the subset (only .Values and "
                                           ".Release.Name/.Release.Namespace)")
                if not isinstance(v, dict):
                    raise fail(name, line, f"{text}: {walked or '.'} is a {type_name(v)}, it has no field '{seg}'")
                if seg not in v:
                    if base is root and i == 1 and path[0] == "Release":
                        raise fail(name, line, f"'.Release.{seg}' is not in the subset (only Name and Namespace)")
                    raise fail(name, line, f"{text}: no value '{seg}' at {walked or '.'} "
                                           "(every value a template reads must be in values.yaml)")
                v = v[seg]
                walked += "." + seg
            return v
        raise fail(name, line, f"unexpected '{text}'")

    def pipeline(self, pipe, dot, root, name, line):
        val = None
        for ci, cmd in enumerate(pipe):
            if cmd[0] == "operand":
                val = self.operand(cmd[1], dot, root, name, line)
                continue
            _, fn, argtoks = cmd
            args = [self.operand(a, dot, root, name, line) for a in argtoks]
            if ci > 0:
                args.append(val)
            try:
                val = self.call(fn, args, name, line)
            except RenderError as e:
                if str(e).startswith(f"{name}:"):
                    raise
                raise fail(name, line, f"{fn}: {e}")
        return val

    def call(self, fn, args, name, line):
        if fn == "quote":
            return go_quote(scalar_str(args[0], "the value quoted"))
        if fn == "toYaml":
            return to_yaml(args[0])
        if fn == "nindent":
            n, s = args
            if isinstance(n, bool) or not isinstance(n, int):
                raise RenderError(f"the indent must be a whole number, not a {type_name(n)}")
            if not isinstance(s, str):
                raise RenderError(f"expects a string, got a {type_name(s)} (pipe it through toYaml)")
            pad = " " * n
            return "\n" + pad + s.replace("\n", "\n" + pad)
        if fn == "default":
            d, v = args
            return d if empty(v) else v
        if fn == "include":
            tname, ctx = args
            if not isinstance(tname, str):
                raise RenderError("the template name must be a string")
            if tname not in self.defines:
                raise RenderError(f"no template named '{tname}'")
            self.depth += 1
            if self.depth > 50:
                raise RenderError(f"include '{tname}' recurses too deep")
            out = []
            nodes, where = self.defines[tname]
            self.run(nodes, ctx, ctx, where, out)
            self.depth -= 1
            return "".join(out)
        raise RenderError(f"unknown function {fn}")

    def run(self, nodes, dot, root, name, out):
        for nd in nodes:
            if isinstance(nd, Text):
                out.append(nd.s)
            elif isinstance(nd, Out):
                v = self.pipeline(nd.pipe, dot, root, name, nd.line)
                try:
                    out.append(scalar_str(v, "the value printed"))
                except RenderError as e:
                    raise fail(name, nd.line, str(e))
            elif isinstance(nd, If):
                v = self.pipeline(nd.pipe, dot, root, name, nd.line)
                if not empty(v):
                    self.run(nd.then, dot, root, name, out)
                elif nd.other is not None:
                    self.run(nd.other, dot, root, name, out)
            elif isinstance(nd, Range):
                v = self.pipeline(nd.pipe, dot, root, name, nd.line)
                if v is None:
                    continue
                if isinstance(v, dict):
                    items = [v[k] for k in sorted(v)]
                elif isinstance(v, list):
                    items = v
                else:
                    raise fail(name, nd.line, f"range can't iterate over a {type_name(v)}")
                for it in items:
                    self.run(nd.body, it, root, name, out)


# ---------------------------------------------------------------- chart ----

# Helm's InstallOrder (pkg/releaseutil/kind_sorter.go)
INSTALL_ORDER = [
    "PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange",
    "PodSecurityPolicy", "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList",
    "ConfigMap", "StorageClass", "PersistentVolume", "PersistentVolumeClaim",
    "CustomResourceDefinition", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding",
    "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList", "Service",
    "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
    "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress",
    "APIService",
]


def merge(base, over):
    """Helm's coalescing of user values over the chart's: maps merge key by
    key, anything else replaces, null removes the key."""
    out = dict(base)
    for k, v in over.items():
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = v
    return out


DOC_SPLIT = re.compile(r"^---[ \t]*(?:#.*)?$", re.M)


def render_chart(chart, value_files, release, namespace, raw=False):
    meta = load_yaml_file(os.path.join(chart, "Chart.yaml"))
    if not isinstance(meta, dict):
        raise RenderError(f"{chart}/Chart.yaml: not a mapping")
    if meta.get("apiVersion") != "v2":
        raise RenderError(f"{chart}/Chart.yaml: apiVersion must be v2")
    for k in ("name", "version"):
        if not isinstance(meta.get(k), str) or not meta[k]:
            raise RenderError(f"{chart}/Chart.yaml: '{k}' (a string) is required")
    if meta.get("dependencies"):
        raise RenderError(f"{chart}/Chart.yaml: dependencies are not in the subset")
    values = load_yaml_file(os.path.join(chart, "values.yaml")) or {}
    if not isinstance(values, dict):
        raise RenderError(f"{chart}/values.yaml: not a mapping")
    for vf in value_files:
        over = load_yaml_file(vf) or {}
        if not isinstance(over, dict):
            raise RenderError(f"{vf}: not a mapping")
        values = merge(values, over)
    root = {"Values": values, "Release": {"Name": release, "Namespace": namespace}}

    tdir = os.path.join(chart, "templates")
    files = []
    for d, subdirs, names in os.walk(tdir):
        subdirs.sort()
        for n in sorted(names):
            files.append(os.path.relpath(os.path.join(d, n), chart))
    defines, parsed = {}, []
    for rel in files:
        base = os.path.basename(rel)
        if base == "NOTES.txt":
            raise RenderError(f"{rel}: NOTES.txt is not in the subset")
        if not (base.endswith(".yaml") or base.endswith(".yml") or
                (base.startswith("_") and base.endswith(".tpl"))):
            raise RenderError(f"{rel}: only *.yaml, *.yml and _*.tpl files are rendered here")
        with open(os.path.join(chart, rel), encoding="utf-8") as f:
            src = f.read()
        nodes = parse(lex(src, rel), rel, defines)
        parsed.append((rel, nodes))

    r = Renderer(defines)
    docs = []
    for rel, nodes in parsed:
        out = []
        r.run(nodes, root, root, rel, out)
        text = "".join(out)
        if os.path.basename(rel).startswith("_"):
            if text.strip():
                raise RenderError(f"{rel}: a partial (_*) may hold only define blocks and comments")
            continue
        if raw:
            docs.append((0, len(docs), rel, text))
            continue
        for pos, doc in enumerate(DOC_SPLIT.split(text)):
            if not doc.strip():
                continue
            try:
                obj = yaml.load(doc, Loader=StrictLoader)
            except yaml.YAMLError as e:
                numbered = "\n".join(f"  {i + 1:3}| {ln}" for i, ln in enumerate(doc.split("\n")))
                raise RenderError(f"{rel}: the rendered document {pos + 1} is not valid YAML: {e}\n{numbered}")
            if obj is None:
                continue  # comments only
            if not isinstance(obj, dict):
                raise RenderError(f"{rel}: the rendered document {pos + 1} is a {type_name(obj)}, not an object")
            md = obj.get("metadata")
            if not (isinstance(obj.get("apiVersion"), str) and isinstance(obj.get("kind"), str)
                    and isinstance(md, dict) and isinstance(md.get("name"), str) and md["name"]):
                raise RenderError(f"{rel}: the rendered document {pos + 1} lacks apiVersion, kind or metadata.name")
            kind = obj["kind"]
            order = INSTALL_ORDER.index(kind) if kind in INSTALL_ORDER else len(INSTALL_ORDER)
            docs.append((order, len(docs), rel, doc.strip("\n")))
    if raw:
        return "".join(f"# Source: {meta['name']}/{rel}\n{text}\n" for _, _, rel, text in docs)
    docs.sort()
    return "".join(f"---\n# Source: {meta['name']}/{rel}\n{doc}\n" for _, _, rel, doc in docs)


def main(argv):
    ap = argparse.ArgumentParser(prog="helm_render", description=__doc__.split("\n\n")[0])
    ap.add_argument("chart")
    ap.add_argument("-f", "--values", action="append", default=[], help="values file (repeatable)")
    ap.add_argument("--name", default="runtime-verifier", help="release name")
    ap.add_argument("--namespace", "-n", default="default", help="release namespace")
    ap.add_argument("--raw", action="store_true",
                    help="print each template's text as rendered, without the YAML checks "
                         "(to test the renderer itself)")
    a = ap.parse_args(argv)
    try:
        sys.stdout.write(render_chart(a.chart, a.values, a.name, a.namespace, a.raw))
    except RenderError as e:
        print(f"helm_render: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
