"""images - build OCI images from a scenario's description (directory trees,
inline files, labels) into an OCI layout, and push them to a registry with
skopeo (the sandbox's, tests/sandbox/sandboxctl, and the test cluster's,
tests/cluster/scenarioctl).

An image spec (JSON):
  {"name": "demo/app", "tag": "v1",
   "base": "busybox" | "scratch",            default busybox (static, Debian's busybox-static)
   "tree": "dir",                            copied under "/" (relative to the scenario file)
   "treeAt": "/app",                         where to put the tree (default /)
   "files": [{"path": "/app/a", "content": "...", "mode": "0644", "uid": 0, "gid": 0},
             {"path": "/app/bin/x", "from": "/abs/host/file", "mode": "0755"},
             {"path": "/app/l", "symlink": "target"}, {"path": "/app/d", "dir": true}],
   "labels": {"org.opencontainers.image.revision": "..."},
   "user": "1000:1000", "entrypoint": [...], "cmd": [...], "env": ["A=b"], "workdir": "/app"}
Layers are deterministic (sorted, fixed mtime), so the same spec gives the
same digest.
"""
import gzip
import hashlib
import io
import json
import os
import subprocess
import tarfile

MTIME = 1700000000
BUSYBOX = "/bin/busybox"
_busybox_layer = {}


def _sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


class Layer:
    def __init__(self):
        self.entries = {}   # path -> TarInfo, data

    def add_dir(self, path, mode=0o755, uid=0, gid=0):
        path = path.strip("/")
        if not path:
            return
        parts = path.split("/")
        for i in range(1, len(parts)):
            p = "/".join(parts[:i])
            if p not in self.entries:
                self._put(p, tarfile.DIRTYPE, 0o755, 0, 0, None)
        self._put(path, tarfile.DIRTYPE, mode, uid, gid, None)

    def add_file(self, path, data, mode=0o644, uid=0, gid=0):
        path = path.strip("/")
        self._parents(path)
        self._put(path, tarfile.REGTYPE, mode, uid, gid, data)

    def add_symlink(self, path, target, uid=0, gid=0):
        path = path.strip("/")
        self._parents(path)
        ti = self._put(path, tarfile.SYMTYPE, 0o777, uid, gid, None)
        ti.linkname = target

    def _parents(self, path):
        parts = path.split("/")
        for i in range(1, len(parts)):
            p = "/".join(parts[:i])
            if p not in self.entries:
                self._put(p, tarfile.DIRTYPE, 0o755, 0, 0, None)

    def _put(self, path, typ, mode, uid, gid, data):
        ti = tarfile.TarInfo(path)
        ti.type = typ
        ti.mode = mode
        ti.uid, ti.gid = uid, gid
        ti.uname = ti.gname = ""
        ti.mtime = MTIME
        if data is not None:
            ti.size = len(data)
        self.entries[path] = (ti, data)
        return ti

    def add_tree(self, src, at="/"):
        src = os.path.abspath(src)
        for root, dirs, files in os.walk(src):
            dirs.sort()
            rel = os.path.relpath(root, src)
            base = at.rstrip("/") + ("" if rel == "." else "/" + rel)
            st = os.lstat(root)
            if base.strip("/"):
                self.add_dir(base, st.st_mode & 0o7777, 0, 0)
            for name in sorted(files + [d for d in dirs if os.path.islink(os.path.join(root, d))]):
                p = os.path.join(root, name)
                dst = base + "/" + name
                st = os.lstat(p)
                if os.path.islink(p):
                    self.add_symlink(dst, os.readlink(p))
                else:
                    with open(p, "rb") as f:
                        self.add_file(dst, f.read(), st.st_mode & 0o7777)

    def blob(self):
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
            for path in sorted(self.entries):
                ti, data = self.entries[path]
                t.addfile(ti, io.BytesIO(data) if data is not None else None)
        tar = raw.getvalue()
        gz = io.BytesIO()
        with gzip.GzipFile(fileobj=gz, mode="wb", mtime=0, compresslevel=6) as g:
            g.write(tar)
        return gz.getvalue(), _sha(tar)


def busybox_layer():
    if "b" not in _busybox_layer:
        lay = Layer()
        with open(BUSYBOX, "rb") as f:
            lay.add_file("/bin/busybox", f.read(), 0o755)
        out = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True).stdout.split()
        for applet in out:
            if applet != "busybox":
                lay.add_symlink("/bin/" + applet, "busybox")
        lay.add_dir("/tmp", 0o1777)
        lay.add_dir("/etc")
        lay.add_dir("/proc")
        lay.add_dir("/sys")
        lay.add_dir("/dev")
        lay.add_file("/etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
                     b"app:x:1000:1000:app:/app:/bin/sh\nappuser:x:1001:1001:appuser:/app:/bin/sh\n")
        lay.add_file("/etc/group", b"root:x:0:\nnogroup:x:65534:\napp:x:1000:\nappuser:x:1001:\n")
        _busybox_layer["b"] = lay.blob()
    return _busybox_layer["b"]


def build(spec, layout, base_dir="."):
    """Writes an OCI layout at `layout` with ref spec["tag"]. Returns the
    manifest digest."""
    blobs = os.path.join(layout, "blobs", "sha256")
    os.makedirs(blobs, exist_ok=True)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')

    def put(data):
        d = _sha(data)
        p = os.path.join(blobs, d[7:])
        if not os.path.exists(p):
            with open(p, "wb") as f:
                f.write(data)
        return d

    layers = []
    if spec.get("base", "busybox") == "busybox":
        layers.append(busybox_layer())
    lay = Layer()
    if spec.get("tree"):
        lay.add_tree(os.path.join(base_dir, spec["tree"]), spec.get("treeAt", "/"))
    for fe in spec.get("files") or []:
        mode = int(str(fe.get("mode", "0644")), 8)
        uid, gid = int(fe.get("uid", 0)), int(fe.get("gid", 0))
        if fe.get("dir"):
            lay.add_dir(fe["path"], int(str(fe.get("mode", "0755")), 8), uid, gid)
        elif "symlink" in fe:
            lay.add_symlink(fe["path"], fe["symlink"], uid, gid)
        elif "from" in fe:
            src = os.path.join(base_dir, os.path.expandvars(fe["from"]))
            with open(src, "rb") as f:
                data = f.read()
            if "mode" not in fe:
                mode = os.stat(src).st_mode & 0o7777
            lay.add_file(fe["path"], data, mode, uid, gid)
        else:
            lay.add_file(fe["path"], fe.get("content", "").encode(), mode, uid, gid)
    if lay.entries:
        layers.append(lay.blob())
    ldescs = []
    diff_ids = []
    for gz, diff in layers:
        ldescs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                       "digest": put(gz), "size": len(gz)})
        diff_ids.append(diff)
    cfg = {"Env": spec.get("env") or ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
           "Labels": spec.get("labels") or {}}
    for k, ck in (("user", "User"), ("entrypoint", "Entrypoint"), ("cmd", "Cmd"), ("workdir", "WorkingDir")):
        if spec.get(k) is not None:
            cfg[ck] = spec[k]
    if "Cmd" not in cfg and "Entrypoint" not in cfg and spec.get("base", "busybox") == "busybox":
        cfg["Cmd"] = ["/bin/sh"]
    config = {"created": "2023-11-14T22:13:20Z", "architecture": "amd64", "os": "linux",
              "config": cfg, "rootfs": {"type": "layers", "diff_ids": diff_ids},
              "history": [{"created": "2023-11-14T22:13:20Z", "created_by": "sandbox images.py"}]}
    cb = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(cb), "size": len(cb)},
                "layers": ldescs}
    if spec.get("labels"):
        manifest["annotations"] = {k: v for k, v in spec["labels"].items() if k.startswith("org.opencontainers.")}
    mb = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    md = put(mb)
    idx_path = os.path.join(layout, "index.json")
    idx = {"schemaVersion": 2, "manifests": []}
    if os.path.exists(idx_path):
        with open(idx_path) as f:
            idx = json.load(f)
    tag = spec.get("tag", "latest")
    idx["manifests"] = [m for m in idx["manifests"]
                        if (m.get("annotations") or {}).get("org.opencontainers.image.ref.name") != tag]
    idx["manifests"].append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md,
                             "size": len(mb), "annotations": {"org.opencontainers.image.ref.name": tag}})
    with open(idx_path, "w") as f:
        json.dump(idx, f)
    return md


def push(layout, tag, registry, name, workdir):
    """skopeo copy oci:layout:tag docker://registry/name:tag; returns the
    digest the registry holds."""
    dfile = os.path.join(workdir, "digest.%d" % os.getpid())
    subprocess.run(["skopeo", "copy", "-q", "--dest-tls-verify=false", "--digestfile", dfile,
                    "oci:%s:%s" % (layout, tag), "docker://%s/%s:%s" % (registry, name, tag)],
                   check=True, stdout=subprocess.DEVNULL)
    with open(dfile) as f:
        d = f.read().strip()
    os.unlink(dfile)
    return d
