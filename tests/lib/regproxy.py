#!/usr/bin/env python3
"""regproxy.py - a counting, fault-injecting HTTP proxy in front of a
registry, for tests of the image client.

Usage: regproxy.py --upstream http://127.0.0.1:PORT --port-file F --log L
                   --rules R.json [--bind 127.0.0.1]

Every request is logged as one JSON line: method, path, host, whether it
carried an Authorization header, its Range header, and the status sent.

The rules file is read again for every request (so a test can change it
between runs): a JSON list of rules, the first that matches applies:

  {"match": "REGEX on the path", "method": "GET", "times": N,
   "action": ACTION, ...}

"times" limits a rule to its first N matching requests (counted per rule
index, afresh whenever the file changes). Actions:
  "close_mid"  forward, send the headers and half the body, then close
  "corrupt"    forward, flip one byte in the middle of the body
  "status"     answer "status" with "headers" and "body" (text) or
               "body_file" (bytes of a file) instead of forwarding
  "redirect"   answer 307 to "to" + the request path
  "extra"      forward, append "bytes" extra bytes to the body (a server
               that sends more than the descriptor says)
  "stall"      forward, send the headers and half the body, then stall for
               "seconds" (default 30) before closing
  "ignore_range"  forward without the Range header (a server that answers
               200 with the whole body to a Range request)
"""
import argparse
import http.client
import json
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
counts = {}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--rules", required=True)
    ap.add_argument("--bind", default="127.0.0.1")
    a = ap.parse_args()
    up = urllib.parse.urlparse(a.upstream)
    logf = open(a.log, "a", buffering=1)

    last = {"text": None}

    def load_rules():
        # A changed rules file starts its "times" counts afresh.
        try:
            with open(a.rules) as f:
                text = f.read()
        except OSError:
            return []
        with lock:
            if text != last["text"]:
                last["text"] = text
                counts.clear()
        try:
            return json.loads(text)
        except ValueError:
            return []

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def log(self, status):
            with lock:
                logf.write(json.dumps({
                    "method": self.command, "path": self.path,
                    "host": self.headers.get("Host", ""),
                    "auth": "Authorization" in self.headers,
                    "range": self.headers.get("Range", ""),
                    "status": status}) + "\n")

        def pick(self):
            for i, r in enumerate(load_rules()):
                if r.get("method", self.command) != self.command:
                    continue
                if not re.search(r["match"], self.path):
                    continue
                with lock:
                    n = counts.get(i, 0)
                    if "times" in r and n >= r["times"]:
                        continue
                    counts[i] = n + 1
                return r
            return None

        def forward(self, strip_range=False):
            c = http.client.HTTPConnection(up.hostname, up.port, timeout=60)
            drop = ("host", "connection") + (("range",) if strip_range else ())
            hdrs = {k: v for k, v in self.headers.items() if k.lower() not in drop}
            hdrs["Host"] = up.netloc
            c.request(self.command, self.path, headers=hdrs)
            r = c.getresponse()
            body = r.read()
            headers = [(k, v) for k, v in r.getheaders()
                       if k.lower() not in ("content-length", "connection",
                                            "transfer-encoding")]
            c.close()
            return r.status, headers, body

        def send(self, status, headers, body, cut=None, length=None):
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body) if length is None else length))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body if cut is None else body[:cut])
            self.wfile.flush()
            self.log(status)

        def handle_any(self):
            r = self.pick()
            act = r["action"] if r else None
            if act == "status":
                if "body_file" in r:
                    with open(r["body_file"], "rb") as f:
                        body = f.read()
                else:
                    body = r.get("body", "").encode()
                self.send(r["status"], list(r.get("headers", {}).items()), body)
                return
            if act == "redirect":
                self.send(307, [("Location", r["to"] + self.path)], b"")
                return
            status, headers, body = self.forward(act == "ignore_range")
            if act == "close_mid" and len(body) > 1:
                self.send(status, headers, body, cut=len(body) // 2, length=len(body))
                self.close_connection = True
                try:
                    self.connection.shutdown(2)
                except OSError:
                    pass
                return
            if act == "stall" and len(body) > 1:
                import time
                self.send(status, headers, body, cut=len(body) // 2, length=len(body))
                time.sleep(float(r.get("seconds", 30)))
                self.close_connection = True
                return
            if act == "corrupt" and body:
                b = bytearray(body)
                b[len(b) // 2] ^= 0x01
                body = bytes(b)
            if act == "extra":
                body = body + b"\0" * int(r.get("bytes", 1))
            self.send(status, headers, body)

        do_GET = handle_any
        do_HEAD = handle_any

    srv = ThreadingHTTPServer((a.bind, 0), H)
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(a.port_file + ".tmp", a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
