#!/usr/bin/env python3
"""scripted_httpd.py - an HTTPS server that answers from a script, for
client-mechanics tests (retries, auth, error bodies). It is not an API
server: the Kubernetes API simulator is tests/sandbox.

Usage: scripted_httpd.py --cert C --key K [--client-ca CA] --script S
                         --log L --port-file P [--port N]

The script is JSON: {"/path": [resp, resp, ...], ...}. Each request to a
path takes the next response of its list; the last one repeats. A response
is {"status": 200, "headers": {...}, "body": <str or JSON>,
"need_auth": "Bearer x"} - with need_auth, a request without exactly that
Authorization header gets 401 instead (and does not use up the response).
Every request is logged as one JSON line: method, path, headers, body.
"""
import argparse
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--client-ca")
    ap.add_argument("--script", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    with open(a.script) as f:
        script = json.load(f)
    pos = {}
    logf = open(a.log, "a", buffering=1)

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def handle_any(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n).decode("utf-8", "replace") if n else ""
            path = self.path
            with lock:
                logf.write(json.dumps({"method": self.command, "path": path,
                                       "headers": dict(self.headers), "body": body}) + "\n")
                key = path if path in script else path.split("?")[0]
                resps = script.get(key)
                if not resps:
                    r = {"status": 404, "body": {"kind": "Status", "apiVersion": "v1",
                                                  "metadata": {}, "status": "Failure",
                                                  "message": "no such path in script",
                                                  "reason": "NotFound", "code": 404}}
                else:
                    i = pos.get(key, 0)
                    r = resps[min(i, len(resps) - 1)]
                    need = r.get("need_auth")
                    if need and self.headers.get("Authorization") != need:
                        r = {"status": 401, "body": {"kind": "Status", "apiVersion": "v1",
                                                      "metadata": {}, "status": "Failure",
                                                      "message": "Unauthorized",
                                                      "reason": "Unauthorized", "code": 401}}
                    else:
                        pos[key] = i + 1
            b = r.get("body", "")
            if not isinstance(b, str):
                b = json.dumps(b)
            data = b.encode()
            self.send_response(r.get("status", 200))
            for k, v in r.get("headers", {}).items():
                self.send_header(k, str(v))
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = handle_any

    srv = ThreadingHTTPServer(("127.0.0.1", a.port), H)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    if a.client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(a.client_ca)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(a.port_file + ".tmp", a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
