#!/usr/bin/env python3
"""kubeproxy.py - a fault-injecting TLS proxy in front of a REAL
kube-apiserver, for end-to-end tests (docs/sandbox.md "The fault proxy").

Every request is forwarded unchanged (method, path, query, headers with the
client's bearer token, body) to the upstream API server over TLS, verifying
its CA; responses stream back, watches and pods/log included. Faults that a
real server does not make on demand are added here, configured by a JSON
file that is re-read whenever it is written:

    kubeproxy.py serve --upstream https://127.0.0.1:6443 --upstream-ca ca.crt \
        --faults F.json --log requests.log --dir STATE [--pidfile P]
        [--port-file F] [--port N] [--tls-cert C --tls-key K |
         --ca-cert C --ca-key K] [--admin-token-file T | --admin-token T |
         --admin-cert C --admin-key K]
    kubeproxy.py fault --faults F.json KEY=VALUE...   (merge knobs)
    kubeproxy.py fault --faults F.json clear          (no faults)

serve prints its port on stdout (one line) once it listens. Its serving
certificate is for 127.0.0.1 and localhost: --tls-cert/--tls-key as given,
or made with openssl and signed by --ca-cert/--ca-key, or else a new CA and
certificate from tests/lib/mkcerts.sh in --dir (clients trust DIR/ca.crt).
A TLS-terminating proxy cannot pass client certificates on, so clients
authenticate with bearer tokens (service-account tokens from
`kubectl create token`, or a --token-auth-file token).

Knobs (faults apply to resource requests only - /api/v1/..., /apis/G/V/... -
never to discovery: /api, /api/v1, /apis, /apis/G[/V], /version, /openapi,
/healthz, /livez, /readyz):

  latency_ms=N            each resource request waits N ms first
  throttle_every=N        every Nth resource request: 429 TooManyRequests,
  retry_after=S             Retry-After: S (default 1), details.retryAfterSeconds
  error_every=N           every Nth: 500 InternalError
  drop_watch_after=S      watches are cut after S seconds, without the
                          terminating chunk
  expire_continue=true    a GET carrying a continue token: 410 Expired, the
                          real message, and metadata.continue set to the
                          token re-encoded with rv -1 (as etcd3 storage does)
  slow_body_bps=N         response bodies trickle at N bytes a second
  reset_every=N           every Nth resource request: the response headers
                          and part of the body, then a TCP reset
  conflict_puts.RESOURCE[.GROUP]=N
                          the next N PUTs of an existing object: the proxy
                          first GETs it with its admin credential, adds 1 to
                          the annotation test.runtime-verifier.io/concurrent-writes
                          and PUTs it, then forwards the client's PUT
                          unchanged: the real server answers (409 Conflict
                          when the client named the old resourceVersion)
  conflict_configmap_puts=N  the same as conflict_puts.configmaps=N
  already_exists_posts.RESOURCE[.GROUP]=N
                          the next N POSTs of a named object: the proxy first
                          creates it from the POST's body (annotated
                          concurrent-writes "1"), then forwards the POST: the
                          real server answers 409 AlreadyExists. A body the
                          server refuses creates nothing and does not count.

The counters (the Nth request, the N of the counted knobs) start again
whenever the faults file changes. throttle_every is checked before
error_every; a request that gets either is not forwarded.

The log (--log) has one JSON line per request: time, method, path, query,
status, fault (null or the knob that acted), content_type, ms.
"""
import argparse
import base64
import http.client
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANNOTATION = "test.runtime-verifier.io/concurrent-writes"
HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding",
       "te", "trailer", "upgrade", "proxy-authorization", "proxy-authenticate"}
INCONSISTENT_CONTINUE = (
    "The provided continue parameter is too old to display a consistent list "
    "result. You can start a new list without the continue parameter, or use "
    "the continue token in this response to retrieve the remainder of the "
    "results. Continuing with the provided token results in an inconsistent "
    "list - objects that were created, modified, or deleted between the time "
    "the first chunk was returned and now may show up in the list.")
CONTINUE_EXPIRED = (
    "The provided continue parameter is too old to display a consistent list "
    "result. You can start a new list without the continue parameter.")


class Faults:
    """The knobs from the faults file, re-read when it changes; a change
    starts every count again."""

    ALIASES = {"conflict_puts.configmaps": "conflict_configmap_puts"}

    def __init__(self, path):
        self.path = path
        self.key = ()
        self.data = {}
        self.count = 0
        self.used = {}
        self.lock = threading.Lock()

    def get(self):
        """The knobs; a write of the file (a new mtime, inode or size, as
        `kubeproxy.py fault` makes, even with the same content) is a change."""
        try:
            st = os.stat(self.path)
            key = (st.st_mtime_ns, st.st_ino, st.st_size)
        except OSError:
            key = None
        with self.lock:
            if key == self.key:
                return self.data
        try:
            with open(self.path) as f:
                text = f.read()
        except OSError:
            text = ""
        with self.lock:
            if key != self.key:
                try:
                    data = json.loads(text) if text.strip() else {}
                    if not isinstance(data, dict):
                        raise ValueError("not an object")
                except ValueError as e:
                    print("kubeproxy: %s: %s (keeping the old faults)" % (self.path, e),
                          file=sys.stderr)
                    return self.data
                self.key, self.data, self.count, self.used = key, data, 0, {}
            return self.data

    def tick(self):
        with self.lock:
            self.count += 1
            return self.count

    def take(self, knob, resource, group, peek=False):
        """One use of KNOB.RESOURCE[.GROUP] if it has one left: its number
        since the file changed (1, 2, ...), else 0."""
        key = knob + "." + resource + ("." + group if group else "")
        d = self.get()
        with self.lock:
            for k in (key, self.ALIASES.get(key)):
                if not k or k not in d:
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


def num(d, k, default=0.0):
    try:
        return float(d.get(k, default))
    except (TypeError, ValueError):
        return default


def truthy(v):
    return v is True or str(v).lower() in ("1", "true", "yes")


def status_body(code, reason, message, details=None, continue_token=None):
    s = {"kind": "Status", "apiVersion": "v1", "metadata": {},
         "status": "Failure", "message": message, "reason": reason}
    if continue_token:
        s["metadata"]["continue"] = continue_token
    if details is not None:
        s["details"] = details
    s["code"] = code
    return json.dumps(s).encode()


def parse_resource(path):
    """(group, version, namespace, resource, name, subresource) of a
    resource request path, or None for discovery and other paths."""
    m = re.match(r"^/api/v1/(.+)$", path)
    if m:
        group, rest = "", m.group(1)
    else:
        m = re.match(r"^/apis/([^/]+)/([^/]+)/(.+)$", path)
        if not m:
            return None
        group, rest = m.group(1), m.group(3)
    parts = [urllib.parse.unquote(p) for p in rest.strip("/").split("/") if p]
    if not parts:
        return None
    if parts[0] == "watch":
        parts = parts[1:]
        if not parts:
            return None
    ns = ""
    if parts[0] == "namespaces" and len(parts) >= 3 and parts[2] not in ("status", "finalize"):
        ns, parts = parts[1], parts[2:]
    resource = parts[0]
    name = parts[1] if len(parts) > 1 else ""
    sub = "/".join(parts[2:])
    return group, ns, resource, name, sub


def is_watch(path, query):
    q = urllib.parse.parse_qs(query)
    w = (q.get("watch") or [""])[0].lower()
    return w in ("1", "true") or re.match(r"^/apis?(/[^/]+){1,2}/watch/", path) is not None


def inconsistent_token(tok):
    """The client's continue token with rv -1, as etcd3 storage answers a
    compacted continue (handleCompactedErrorForPaging); None if it is not a
    meta.k8s.io/v1 token."""
    try:
        pad = "=" * (-len(tok) % 4)
        c = json.loads(base64.urlsafe_b64decode(tok + pad))
        if c.get("v") != "meta.k8s.io/v1" or not c.get("start"):
            return None
        out = json.dumps({"v": "meta.k8s.io/v1", "rv": -1, "start": c["start"]},
                         separators=(",", ":"))
        return base64.urlsafe_b64encode(out.encode()).decode().rstrip("=")
    except (ValueError, TypeError, AttributeError):
        return None


class Upstream:
    def __init__(self, url, ca, admin_token, admin_cert, admin_key):
        u = urllib.parse.urlparse(url)
        if u.scheme != "https":
            raise SystemExit("kubeproxy: --upstream must be https://")
        self.host, self.port = u.hostname, u.port or 443
        self.ctx = ssl.create_default_context(cafile=ca)
        self.ctx.set_alpn_protocols(["http/1.1"])
        self.admin_ctx = ssl.create_default_context(cafile=ca)
        self.admin_ctx.set_alpn_protocols(["http/1.1"])
        if admin_cert:
            self.admin_ctx.load_cert_chain(admin_cert, admin_key)
        self.admin_token = admin_token

    def conn(self, admin=False, timeout=None):
        return http.client.HTTPSConnection(self.host, self.port, timeout=timeout,
                                           context=self.admin_ctx if admin else self.ctx)

    def admin(self, method, path, body=None, raw=None, ctype="application/json"):
        """The proxy's own request with its admin credential, a JSON body
        (or RAW bytes of CTYPE): (status, obj)."""
        c = self.conn(admin=True, timeout=30)
        h = {"Accept": "application/json", "User-Agent": "kubeproxy/admin"}
        if self.admin_token:
            h["Authorization"] = "Bearer " + self.admin_token
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None:
            h["Content-Type"] = ctype
        try:
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            raw = r.read()
            try:
                return r.status, json.loads(raw)
            except ValueError:
                return r.status, None
        finally:
            c.close()


class Proxy(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kubeproxy"
    up = None       # Upstream, set in main
    faults = None   # Faults
    logf = None
    loglock = threading.Lock()

    def log_message(self, fmt, *args):
        pass

    def log_request(self, code="-", size="-"):
        pass

    def record(self, status, fault, t0):
        u = urllib.parse.urlsplit(self.path)
        line = json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                           "method": self.command, "path": u.path, "query": u.query,
                           "status": status, "fault": fault,
                           "content_type": self.headers.get("Content-Type"),
                           "ms": int((time.time() - t0) * 1000)})
        with self.loglock:
            self.logf.write(line + "\n")
            self.logf.flush()

    # --- request body ----------------------------------------------------
    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else None

    # --- answers of our own ----------------------------------------------
    def send_status(self, code, body, extra=None):
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-cache, private")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def reset(self):
        """Close the client connection with a TCP reset."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       b"\x01\x00\x00\x00\x00\x00\x00\x00")
        except OSError:
            pass
        self.close_connection = True
        try:
            self.connection.close()
        except OSError:
            pass

    def do_any(self):
        t0 = time.time()
        u = urllib.parse.urlsplit(self.path)
        body = self.read_body()
        f = self.faults.get()
        res = parse_resource(u.path)
        fault = None
        if res is not None:
            if num(f, "latency_ms") > 0:
                time.sleep(num(f, "latency_ms") / 1000.0)
                fault = "latency_ms"
            n = self.faults.tick()
            te, ee = int(num(f, "throttle_every")), int(num(f, "error_every"))
            if te > 0 and n % te == 0:
                ra = int(num(f, "retry_after", 1))
                self.send_status(429, status_body(
                    429, "TooManyRequests", "Too many requests, please try again later.",
                    {"causes": [{"reason": "", "message": "fault injected by kubeproxy"}],
                     "retryAfterSeconds": ra}), {"Retry-After": str(ra)})
                return self.record(429, "throttle_every", t0)
            if ee > 0 and n % ee == 0:
                self.send_status(500, status_body(
                    500, "InternalError", "Internal error occurred: fault injected by kubeproxy",
                    {"causes": [{"message": "fault injected by kubeproxy"}]}))
                return self.record(500, "error_every", t0)
            cont = (urllib.parse.parse_qs(u.query).get("continue") or [""])[0]
            if self.command == "GET" and cont and truthy(f.get("expire_continue")):
                tok = inconsistent_token(cont)
                self.send_status(410, status_body(
                    410, "Expired", INCONSISTENT_CONTINUE if tok else CONTINUE_EXPIRED,
                    continue_token=tok))
                return self.record(410, "expire_continue", t0)
            fault = self.concurrent_write(res, body) or fault
        if self.headers.get("Upgrade"):
            return self.tunnel(body, t0)
        reset = res is not None and int(num(f, "reset_every")) > 0 and \
            n % int(num(f, "reset_every")) == 0
        self.forward(u, body, f if res is not None else {}, fault, reset, t0)

    # --- conflicts made by the real server ------------------------------------
    def concurrent_write(self, res, body):
        group, ns, resource, name, sub = res
        if self.command == "PUT" and name and not sub:
            if not self.faults.take("conflict_puts", resource, group, peek=True):
                return None
            path = self.object_path(group, ns, resource, name)
            if path is None:
                return None
            for _ in range(3):
                st, obj = self.up.admin("GET", path)
                if st != 200 or not isinstance(obj, dict):
                    return None     # not an existing object: nothing to race
                md = obj.setdefault("metadata", {})
                ann = md.get("annotations") or {}
                try:
                    ann[ANNOTATION] = str(int(ann.get(ANNOTATION, "0")) + 1)
                except ValueError:
                    ann[ANNOTATION] = "1"
                md["annotations"] = ann
                st, _ = self.up.admin("PUT", path, obj)
                if st == 200:
                    self.faults.take("conflict_puts", resource, group)
                    return "conflict_puts"
                if st != 409:
                    return None
            return None
        if self.command == "POST" and not name and not sub and body:
            if "dryRun" in urllib.parse.urlsplit(self.path).query:
                return None
            if not self.faults.take("already_exists_posts", resource, group, peek=True):
                return None
            path = urllib.parse.urlsplit(self.path).path
            ctype = self.headers.get("Content-Type", "application/json")
            try:
                obj = json.loads(body) if "json" in ctype else None
            except ValueError:
                obj = None
            if isinstance(obj, dict):
                md = obj.get("metadata") or {}
                if not md.get("name"):
                    return None     # generateName: no name to race for
                md.pop("resourceVersion", None)
                md["annotations"] = dict(md.get("annotations") or {}, **{ANNOTATION: "1"})
                obj["metadata"] = md
                st, _ = self.up.admin("POST", path, obj)
            else:
                # protobuf (kubectl's create) or YAML: the same bytes, then
                # the annotation by a merge patch
                st, made = self.up.admin("POST", path, raw=body, ctype=ctype)
                if st != 201 or not isinstance(made, dict):
                    return None
                md = made.get("metadata") or {}
                name, gen = md.get("name", ""), md.get("generateName", "")
                q = urllib.parse.quote
                opath = path + "/" + q(name)
                if gen and name.startswith(gen) and len(name) == len(gen) + 5:
                    self.up.admin("DELETE", opath)     # a generated name: no race
                    return None
                self.up.admin("PATCH", opath, {"metadata": {"annotations": {ANNOTATION: "1"}}},
                              ctype="application/merge-patch+json")
            if st == 201:
                self.faults.take("already_exists_posts", resource, group)
                return "already_exists_posts"
        return None

    def object_path(self, group, ns, resource, name):
        u = urllib.parse.urlsplit(self.path)
        m = re.match(r"^(/api/v1|/apis/[^/]+/[^/]+)/", u.path)
        if not m:
            return None
        q = urllib.parse.quote
        if ns:
            return "%s/namespaces/%s/%s/%s" % (m.group(1), q(ns), q(resource), q(name))
        return "%s/%s/%s" % (m.group(1), q(resource), q(name))

    # --- forwarding -----------------------------------------------------------
    def forward(self, u, body, f, fault, reset, t0):
        headers = {}
        for k, v in self.headers.items():
            if k.lower() in HOP or k.lower() in ("host", "content-length", "expect"):
                continue
            headers[k] = v
        if body is not None:
            headers["Content-Length"] = str(len(body))
        target = u.path + ("?" + u.query if u.query else "")
        try:
            c = self.up.conn()
            c.request(self.command, target, body=body, headers=headers)
            r = c.getresponse()
        except (OSError, http.client.HTTPException) as e:
            self.send_status(502, status_body(502, "InternalError",
                                              "kubeproxy: upstream: %s" % e))
            return self.record(502, "upstream_error", t0)
        watch = is_watch(u.path, u.query)
        drop = num(f, "drop_watch_after") if watch else 0
        bps = num(f, "slow_body_bps")
        if drop > 0:
            fault = "drop_watch_after"
        elif bps > 0:
            fault = "slow_body_bps"
        if reset:
            fault = "reset_every"
        length = r.getheader("Content-Length")
        chunked = length is None and self.command != "HEAD" and r.status not in (204, 304)
        self.send_response_only(r.status, r.reason)
        for k, v in r.getheaders():
            if k.lower() in HOP:
                continue
            self.send_header(k, v)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

        dropped = threading.Event()
        timer = None
        if drop > 0:
            def cut():
                dropped.set()
                try:
                    c.sock.shutdown(socket.SHUT_RDWR)
                except (OSError, AttributeError):
                    pass
            timer = threading.Timer(drop, cut)
            timer.daemon = True
            timer.start()
        sent = 0
        half = int(length) // 2 if length else None
        try:
            while True:
                try:
                    data = r.read1(65536) if self.command != "HEAD" else b""
                except (OSError, http.client.HTTPException, ValueError):
                    data = b""
                if dropped.is_set():
                    break
                if not data:
                    break
                if reset:
                    cut_at = half if half is not None else max(1, len(data) // 2)
                    self.write_piece(data[:max(0, cut_at - sent)], chunked, bps)
                    self.reset()
                    break
                self.write_piece(data, chunked, bps)
                sent += len(data)
            if dropped.is_set():
                # cut without the terminating chunk, as a dropped connection
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            elif chunked and not reset:
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
        except OSError:
            self.close_connection = True     # the client went away
        finally:
            if timer:
                timer.cancel()
            c.close()
        self.record(r.status, fault, t0)

    def write_piece(self, data, chunked, bps):
        if not data:
            return
        step = len(data) if bps <= 0 else max(1, int(bps / 10))
        for i in range(0, len(data), step):
            piece = data[i:i + step]
            if chunked:
                self.wfile.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
            else:
                self.wfile.write(piece)
            self.wfile.flush()
            if bps > 0:
                time.sleep(len(piece) / bps)

    def tunnel(self, body, t0):
        """Upgrade requests (exec, attach, port-forward): the bytes both ways."""
        raw = socket.create_connection((self.up.host, self.up.port), timeout=30)
        s = self.up.ctx.wrap_socket(raw, server_hostname=self.up.host)
        s.settimeout(None)
        head = "%s %s HTTP/1.1\r\n" % (self.command, self.path)
        for k, v in self.headers.items():
            if k.lower() == "host":
                continue
            head += "%s: %s\r\n" % (k, v)
        head += "Host: %s:%d\r\n\r\n" % (self.up.host, self.up.port)
        s.sendall(head.encode() + (body or b""))

        def pump_in():
            try:
                while True:
                    d = self.rfile.read1(65536)
                    if not d:
                        break
                    s.sendall(d)
            except OSError:
                pass
            try:
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        t = threading.Thread(target=pump_in, daemon=True)
        t.start()
        status = 0
        try:
            while True:
                d = s.recv(65536)
                if not d:
                    break
                if not status:
                    m = re.match(rb"HTTP/1\.1 (\d+)", d)
                    status = int(m.group(1)) if m else -1
                self.wfile.write(d)
                self.wfile.flush()
        except OSError:
            pass
        self.close_connection = True
        s.close()
        self.record(status, None, t0)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_any


def serving_cert(a):
    if a.tls_cert:
        return a.tls_cert, a.tls_key
    os.makedirs(a.dir, exist_ok=True)
    if a.ca_cert:
        key, crt = os.path.join(a.dir, "proxy.key"), os.path.join(a.dir, "proxy.crt")
        csr, ext = os.path.join(a.dir, "proxy.csr"), os.path.join(a.dir, "proxy.ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
        subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                        "-out", csr, "-subj", "/CN=kubeproxy"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", a.ca_cert, "-CAkey", a.ca_key,
                        "-CAcreateserial", "-out", crt, "-days", "2", "-extfile", ext], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.unlink(csr)
        os.unlink(ext)
        return crt, key
    mk = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mkcerts.sh")
    subprocess.run(["sh", mk, a.dir], check=True)
    return os.path.join(a.dir, "server.crt"), os.path.join(a.dir, "server.key")


def serve(a):
    token = a.admin_token
    if a.admin_token_file:
        with open(a.admin_token_file) as f:
            token = f.read().strip()
    if not token and not a.admin_cert:
        print("kubeproxy: no admin credential: conflict_puts and already_exists_posts "
              "will use the proxy's anonymous requests", file=sys.stderr)
    Handler.up = Upstream(a.upstream, a.upstream_ca, token, a.admin_cert, a.admin_key)
    Handler.faults = Faults(a.faults)
    Handler.logf = open(a.log, "a", buffering=1)
    crt, key = serving_cert(a)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    ctx.set_alpn_protocols(["http/1.1"])
    srv = Proxy(("127.0.0.1", a.port), Handler)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    port = srv.server_address[1]
    if a.pidfile:
        with open(a.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, a.port_file)
    print(port, flush=True)

    def stop(signum, frame):
        threading.Thread(target=srv.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        srv.server_close()
        if a.pidfile:
            try:
                os.unlink(a.pidfile)
            except OSError:
                pass
    return 0


def fault(a):
    try:
        with open(a.faults) as f:
            d = json.load(f)
    except (OSError, ValueError):
        d = {}
    for kv in a.settings:
        if kv == "clear":
            d = {}
            continue
        if "=" not in kv:
            raise SystemExit("kubeproxy: fault: KEY=VALUE or clear, not %r" % kv)
        k, v = kv.split("=", 1)
        try:
            d[k] = json.loads(v)
        except ValueError:
            d[k] = v
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(a.faults)))
    with os.fdopen(fd, "w") as f:
        json.dump(d, f, sort_keys=True)
        f.write("\n")
    os.rename(tmp, a.faults)
    return 0


def main():
    ap = argparse.ArgumentParser(description="fault-injecting proxy for a real kube-apiserver")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--upstream", required=True)
    s.add_argument("--upstream-ca", required=True)
    s.add_argument("--faults", required=True)
    s.add_argument("--log", required=True)
    s.add_argument("--dir", required=True, help="state: generated certificates")
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--port-file")
    s.add_argument("--pidfile")
    s.add_argument("--tls-cert")
    s.add_argument("--tls-key")
    s.add_argument("--ca-cert")
    s.add_argument("--ca-key")
    s.add_argument("--admin-token")
    s.add_argument("--admin-token-file")
    s.add_argument("--admin-cert")
    s.add_argument("--admin-key")
    fl = sub.add_parser("fault")
    fl.add_argument("--faults", required=True)
    fl.add_argument("settings", nargs="+")
    a = ap.parse_args()
    return serve(a) if a.cmd == "serve" else fault(a)


if __name__ == "__main__":
    sys.exit(main())
