#!/usr/bin/env python3
"""token_server.py - a registry token server (the Docker "token auth"
flow) in the Python standard library, for tests.

Usage: token_server.py --key KEY.pem --cert CERT.pem --port-file F --log L
                       [--user U --password P] [--field token|access_token]
                       [--expires-in SECONDS]

GET /token?service=S&scope=repository:NAME:pull answers
{"<field>": JWT, "expires_in": N}. With --user, the request must carry
that Basic auth (else 401). The JWT is RS256, signed with KEY, and carries
CERT in its x5c header, so docker-registry configured with
`rootcertbundle: CERT` accepts it. RSA signing is done here by hand (the
standard library has none): the key's numbers come from `openssl rsa -text`.
Each request is logged as a JSON line: path, whether it had auth, status.
"""
import argparse
import base64
import hashlib
import json
import re
import subprocess
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def rsa_numbers(key):
    text = subprocess.run(["openssl", "rsa", "-in", key, "-noout", "-text"],
                          stdout=subprocess.PIPE, check=True, text=True).stdout

    def num(name):
        m = re.search(name + r":\s*\n((?:\s+[0-9a-f:]+\n)+)", text)
        return int(re.sub(r"[\s:]", "", m.group(1)), 16)
    return num("modulus"), num("privateExponent")


def sign(n, d, msg):
    prefix = bytes.fromhex("3031300d060960864801650304020105000420")
    t = prefix + hashlib.sha256(msg).digest()
    k = (n.bit_length() + 7) // 8
    em = b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t
    s = pow(int.from_bytes(em, "big"), d, n)
    return s.to_bytes(k, "big")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--key", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--field", default="token")
    ap.add_argument("--expires-in", type=int, default=300)
    a = ap.parse_args()
    n, d = rsa_numbers(a.key)
    der = subprocess.run(["openssl", "x509", "-in", a.cert, "-outform", "DER"],
                         stdout=subprocess.PIPE, check=True).stdout
    x5c = base64.b64encode(der).decode()
    logf = open(a.log, "a", buffering=1)

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, status, obj):
            body = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            with lock:
                logf.write(json.dumps({"path": self.path,
                                       "auth": "Authorization" in self.headers,
                                       "status": status}) + "\n")

        def do_GET(self):
            u = urllib.parse.urlparse(self.path)
            q = urllib.parse.parse_qs(u.query)
            if u.path != "/token":
                return self.reply(404, {"error": "not found"})
            if a.user:
                want = "Basic " + base64.b64encode(
                    (a.user + ":" + a.password).encode()).decode()
                if self.headers.get("Authorization") != want:
                    return self.reply(401, {"error": "bad credentials"})
            access = []
            for scope in q.get("scope", []):
                parts = scope.split(":")
                if len(parts) == 3 and parts[0] == "repository":
                    acts = parts[2].split(",")
                    if not a.user:
                        acts = [x for x in acts if x == "pull"]
                    access.append({"type": "repository", "name": parts[1],
                                   "actions": acts})
            now = int(time.time())
            header = {"alg": "RS256", "typ": "JWT", "x5c": [x5c]}
            claims = {"iss": "rv-test-issuer", "sub": a.user or "anonymous",
                      "aud": q.get("service", [""])[0], "exp": now + a.expires_in,
                      "nbf": now - 10, "iat": now, "jti": str(now) + str(id(self)),
                      "access": access}
            signing = (b64u(json.dumps(header).encode()) + "." +
                       b64u(json.dumps(claims).encode())).encode()
            jwt = signing.decode() + "." + b64u(sign(n, d, signing))
            self.reply(200, {a.field: jwt, "expires_in": a.expires_in})

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(a.port_file + ".tmp", a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
