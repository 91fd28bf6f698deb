#!/usr/bin/env python3
"""mkimage.py - build an OCI image layout from a JSON spec, for tests.

Usage: mkimage.py SPEC.json LAYOUT_DIR

The layout gets one tag per image in the spec. Spec:

  {"images": [IMAGE, ...]}      several tags, one per image
  {"index": {"tag": T, "images": [IMAGE, ...]}}   a multi-platform index
  IMAGE = {"tag": "t", "platform": "linux/amd64",
           "labels": {...}, "env": [...],
           "layers": [LAYER, ...]}
  LAYER = {"compression": "gzip" | "zstd" | "none", "format": "pax" | "gnu",
           "entries": [ENTRY, ...],
           "truncate": N (cut the tar to N bytes: a lying header),
           "zeros": N (the layer is N zero bytes: a compression bomb)}
  ENTRY = {"path": "app/x" (or "path_hex": "..." for raw bytes),
           "type": "file" | "dir" | "symlink" | "hardlink" | "fifo" | "char",
           "data": "text" | "data_hex": "..." | "random": N (bytes, seeded
           by the path), "mode": "0644", "uid": 0, "gid": 0,
           "target": "x" (symlink/hardlink)}

Tar bytes are deterministic (mtime 0), so rebuilding a spec gives the same
digests.
"""
import gzip
import hashlib
import io
import json
import os
import random
import subprocess
import sys
import tarfile


def blob(out, data):
    d = hashlib.sha256(data).hexdigest()
    p = os.path.join(out, "blobs", "sha256", d)
    if not os.path.exists(p):
        with open(p, "wb") as f:
            f.write(data)
    return {"digest": "sha256:" + d, "size": len(data)}


def entry_data(e):
    if "data" in e:
        return e["data"].encode()
    if "data_hex" in e:
        return bytes.fromhex(e["data_hex"])
    if "random" in e:
        rnd = random.Random(e.get("path", e.get("path_hex", "")))
        return rnd.randbytes(int(e["random"]))
    return b""


def entry_name(e):
    if "path_hex" in e:
        return bytes.fromhex(e["path_hex"]).decode("utf-8", "surrogateescape")
    return e["path"]


def make_tar(layer):
    bio = io.BytesIO()
    fmt = tarfile.GNU_FORMAT if layer.get("format") == "gnu" else tarfile.PAX_FORMAT
    with tarfile.open(fileobj=bio, mode="w", format=fmt, encoding="utf-8",
                      errors="surrogateescape") as t:
        for e in layer.get("entries", []):
            ti = tarfile.TarInfo(entry_name(e))
            ti.mtime = 0
            ti.uid = int(e.get("uid", 0))
            ti.gid = int(e.get("gid", 0))
            ti.uname = ti.gname = ""
            typ = e.get("type", "file")
            data = None
            if typ == "file":
                data = entry_data(e)
                ti.size = len(data)
                ti.mode = int(e.get("mode", "0644"), 8)
            elif typ == "dir":
                ti.type = tarfile.DIRTYPE
                ti.mode = int(e.get("mode", "0755"), 8)
            elif typ == "symlink":
                ti.type = tarfile.SYMTYPE
                ti.linkname = e["target"]
                ti.mode = int(e.get("mode", "0777"), 8)
            elif typ == "hardlink":
                ti.type = tarfile.LNKTYPE
                ti.linkname = e["target"]
                ti.mode = int(e.get("mode", "0644"), 8)
            elif typ == "fifo":
                ti.type = tarfile.FIFOTYPE
                ti.mode = int(e.get("mode", "0644"), 8)
            elif typ == "char":
                ti.type = tarfile.CHRTYPE
                ti.devmajor, ti.devminor = 1, 3
                ti.mode = int(e.get("mode", "0666"), 8)
            else:
                raise SystemExit("unknown type " + typ)
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    return bio.getvalue()


def compress(raw, how):
    if how == "none":
        return raw, "application/vnd.oci.image.layer.v1.tar"
    if how == "zstd":
        z = subprocess.run(["zstd", "-q", "-3", "-c"], input=raw,
                           stdout=subprocess.PIPE, check=True).stdout
        return z, "application/vnd.oci.image.layer.v1.tar+zstd"
    return gzip.compress(raw, 6, mtime=0), "application/vnd.oci.image.layer.v1.tar+gzip"


def make_image(out, img):
    os_, arch = img.get("platform", "linux/amd64").split("/")[:2]
    descs, diff_ids = [], []
    for layer in img.get("layers", []):
        raw = make_tar(layer)
        if "truncate" in layer:
            raw = raw[:int(layer["truncate"])]
        if "zeros" in layer:
            raw = b"\0" * int(layer["zeros"])
        data, mt = compress(raw, layer.get("compression", "gzip"))
        d = blob(out, data)
        d["mediaType"] = mt
        descs.append(d)
        diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
    cfg = {"architecture": arch, "os": os_,
           "config": {"Labels": img.get("labels", {}), "Env": img.get("env", [])},
           "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    c = blob(out, json.dumps(cfg, sort_keys=True).encode())
    c["mediaType"] = "application/vnd.oci.image.config.v1+json"
    man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "config": c, "layers": descs}
    m = blob(out, json.dumps(man, sort_keys=True).encode())
    m["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
    m["platform"] = {"os": os_, "architecture": arch}
    return m


def main():
    spec = json.load(open(sys.argv[1]))
    out = sys.argv[2]
    os.makedirs(os.path.join(out, "blobs", "sha256"), exist_ok=True)
    manifests = []
    for img in spec.get("images", []):
        m = make_image(out, img)
        del m["platform"]
        m["annotations"] = {"org.opencontainers.image.ref.name": img["tag"]}
        manifests.append(m)
    if "index" in spec:
        ix = spec["index"]
        ms = [make_image(out, img) for img in ix["images"]]
        idx = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
               "manifests": ms}
        d = blob(out, json.dumps(idx, sort_keys=True).encode())
        d["mediaType"] = "application/vnd.oci.image.index.v1+json"
        d["annotations"] = {"org.opencontainers.image.ref.name": ix["tag"]}
        manifests.append(d)
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": manifests}, f)
    with open(os.path.join(out, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')


if __name__ == "__main__":
    main()
