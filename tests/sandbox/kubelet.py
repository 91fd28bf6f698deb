"""kubelet - runs the sandbox's pods as real runc containers.

Images are pulled from the sandbox registry with skopeo into OCI layouts
(one per manifest digest) and unpacked once with `umoci raw unpack`; each
container gets its own copy of the rootfs. Containers run under a private
runc --root (STATE/runc), with the pod's uid/gid/capabilities, their own
PID and mount namespaces, and the pod's network/IPC/UTS namespaces (those of
the pod's first container). An ephemeral container joins the PID namespace
of its target container. The kubelet process is a child subreaper
(PR_SET_CHILD_SUBREAPER, like containerd-shim), so detached container
processes are re-parented to it and their exit codes are read with waitpid.

State per container instance: STATE/pods/<pod uid>/<container>/
  rootfs/  config.json  <n>.log (stdout+stderr)  termination-log
"""
import ctypes
import hashlib
import json
import os
import queue
import secrets
import shutil
import subprocess
import threading
import time
import base64

import k8sutil as ku

NODE = "sandbox-node"
DEFAULT_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
                "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
                "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]
ALL_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
            "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
            "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
            "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
            "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
            "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
            "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
            "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
            "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"]
MAX_TERMINATION_MESSAGE = 4096
BACKOFF_START, BACKOFF_MAX = 10, 300


class PullError(Exception):
    def __init__(self, reason, message):
        super().__init__(message)
        self.reason = reason
        self.message = message


class CRT:
    """One container's runtime record."""

    def __init__(self, name, kind):
        self.name = name
        self.kind = kind            # "containers" | "ephemeralContainers"
        self.id = None
        self.pid = None
        self.state = "waiting"
        self.reason = "ContainerCreating"
        self.message = None
        self.exit_code = None
        self.signal = None
        self.started_at = None
        self.finished_at = None
        self.image = None
        self.image_id = ""
        self.restarts = 0
        self.last = None            # lastState.terminated
        self.dir = None
        self.log = None
        self.backoff_until = 0
        self.pull_failures = 0
        self.busy = False
        self.backoffs = 0
        self.pending_restart = False


class PodRT:
    def __init__(self, uid, ns, name):
        self.uid, self.ns, self.name = uid, ns, name
        self.c = {}                 # name -> CRT
        self.sandbox_pid = None     # pid whose net/ipc/uts namespaces the pod shares
        self.start_time = None
        self.deleting = False
        self.lock = threading.RLock()


class Kubelet:
    def __init__(self, api, state_dir, registry, workers=4):
        self.api = api
        self.dir = state_dir
        self.registry = registry
        self.root = os.path.join(state_dir, "runc")
        self.pods_dir = os.path.join(state_dir, "pods")
        self.img_dir = os.path.join(state_dir, "images")
        for d in (self.root, self.pods_dir, self.img_dir):
            os.makedirs(d, exist_ok=True)
        self.cgroup_parent = "rv-sandbox-" + hashlib.sha256(state_dir.encode()).hexdigest()[:12]
        with open(os.path.join(state_dir, "cgroup.parent"), "w") as f:
            f.write(self.cgroup_parent)
        self.pods = {}              # (ns, name) -> PodRT
        self.lock = threading.RLock()
        self.q = queue.Queue()
        self.queued = set()
        self.syncing = set()
        self.dirty = set()
        self.workers = workers
        self.tags = {}              # image ref -> (digest, repo) for IfNotPresent
        self.img_locks = {}
        self.pids = {}              # pid -> (PodRT, CRT)
        self.stopping = False
        self.base_spec = self._base_spec()

    # --- lifecycle --------------------------------------------------------
    def start(self):
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_CHILD_SUBREAPER = 36
        if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
        for _ in range(self.workers):
            threading.Thread(target=self._worker, daemon=True).start()
        threading.Thread(target=self._reaper, daemon=True).start()
        threading.Thread(target=self._ticker, daemon=True).start()

    def shutdown(self):
        # the reaper keeps running: runc delete waits for the zombies we reap
        ids = []
        with self.lock:
            for prt in self.pods.values():
                for c in prt.c.values():
                    if c.id:
                        ids.append(c.id)
        out = subprocess.run(["runc", "--root", self.root, "list", "-q"], capture_output=True, text=True).stdout.split()
        runc_all(self.root, set(ids) | set(out))
        self.stopping = True

    def _base_spec(self):
        tmp = os.path.join(self.dir, "spec-template")
        os.makedirs(tmp, exist_ok=True)
        if not os.path.exists(os.path.join(tmp, "config.json")):
            subprocess.run(["runc", "spec"], cwd=tmp, check=True)
        with open(os.path.join(tmp, "config.json")) as f:
            return json.load(f)

    def notify(self, typ, pod):
        md = pod["metadata"]
        key = (md.get("namespace", ""), md["name"])
        if typ == "DELETED":
            with self.lock:
                prt = self.pods.get(key)
            if prt is not None and prt.uid == md.get("uid"):
                threading.Thread(target=self._kill_pod, args=(prt, 0), daemon=True).start()
            return
        self.enqueue(key)

    def enqueue(self, key):
        with self.lock:
            if key in self.queued:
                return
            self.queued.add(key)
        self.q.put(key)

    def _worker(self):
        """One sync per pod at a time: a pod's first container must be
        running before the others join its namespaces."""
        while True:
            key = self.q.get()
            with self.lock:
                self.queued.discard(key)
                if key in self.syncing:
                    self.dirty.add(key)
                    continue
                self.syncing.add(key)
            try:
                self.sync(key)
            except Exception:
                import traceback
                traceback.print_exc()
            finally:
                with self.lock:
                    self.syncing.discard(key)
                    again = key in self.dirty
                    self.dirty.discard(key)
                if again:
                    self.enqueue(key)

    def _ticker(self):
        """Re-sync pods that wait for a back-off to end; rotate logs."""
        last_rotate = time.time()
        while not self.stopping:
            time.sleep(1)
            now = time.time()
            f = self.api.faults.get()
            if now - last_rotate >= float(f.get("container_log_monitor_interval", 10)):
                last_rotate = now
                self._rotate_logs(int(f.get("container_log_max_size", 10 * 1024 * 1024)))
            with self.lock:
                for key, prt in list(self.pods.items()):
                    if any(c.backoff_until and c.backoff_until <= now for c in prt.c.values()):
                        self.enqueue(key)

    def _rotate_logs(self, max_size):
        """The kubelet's container log manager: a running container's log
        over containerLogMaxSize is rotated (copy + truncate here: the
        container's stdout is O_APPEND); `logs` serves the current file only."""
        with self.lock:
            cs = [c for prt in self.pods.values() for c in prt.c.values() if c.state == "running" and c.log]
        for c in cs:
            try:
                if os.path.getsize(c.log) <= max_size:
                    continue
                stamp = time.strftime("%Y%m%d-%H%M%S")
                shutil.copyfile(c.log, "%s.%s" % (c.log, stamp))
                os.truncate(c.log, 0)
            except OSError:
                pass

    def _reaper(self):
        while not self.stopping:
            time.sleep(0.1)
            with self.lock:
                items = list(self.pids.items())
            for pid, (prt, c) in items:
                try:
                    wpid, status = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    if os.path.exists("/proc/%d" % pid):
                        continue
                    wpid, status = pid, None
                if wpid == 0:
                    continue
                with self.lock:
                    self.pids.pop(pid, None)
                if status is None:
                    code, sig = 255, None
                elif os.WIFSIGNALED(status):
                    sig = os.WTERMSIG(status)
                    code = 128 + sig
                else:
                    sig = None
                    code = os.WEXITSTATUS(status)
                self._exited(prt, c, code, sig)

    # --- the sync loop ------------------------------------------------------
    def sync(self, key):
        ns, name = key
        pod = self.api.store.get("/pods", ns, name)
        if pod is None:
            return
        md, spec = pod["metadata"], pod["spec"]
        with self.lock:
            prt = self.pods.get(key)
            if prt is None or prt.uid != md["uid"]:
                prt = PodRT(md["uid"], ns, name)
                self.pods[key] = prt
        if md.get("deletionTimestamp"):
            if not prt.deleting:
                prt.deleting = True
                self._kill_pod(prt, md.get("deletionGracePeriodSeconds", 30), remove=True)
            return
        if not spec.get("nodeName"):
            self._schedule(pod)
            return
        with prt.lock:
            if prt.start_time is None:
                prt.start_time = ku.now_rfc3339()
            for kind in ("containers", "ephemeralContainers"):
                for cs in spec.get(kind) or []:
                    c = prt.c.get(cs["name"])
                    if c is None:
                        c = prt.c[cs["name"]] = CRT(cs["name"], kind)
                        c.image = cs.get("image")
            self.write_status(pod, prt)
        for cs in spec.get("containers") or []:
            c = prt.c[cs["name"]]
            if c.state == "waiting" and time.time() >= c.backoff_until:
                self._start(pod, prt, c, cs)
            elif c.state == "terminated" and self._should_restart(spec, c) and not c.backoff_until:
                delay = min(self._backoff() * (2 ** c.backoffs), BACKOFF_MAX)
                c.last = self._terminated(c)
                c.state, c.reason = "waiting", "CrashLoopBackOff"
                c.message = "back-off %ds restarting failed container=%s pod=%s_%s(%s)" % (
                    delay, c.name, name, ns, md["uid"])
                c.backoff_until = time.time() + delay
                c.backoffs += 1
                c.pending_restart = True
                self.event(pod, "Warning", "BackOff", "Back-off restarting failed container %s in pod %s_%s(%s)" % (
                    c.name, name, ns, md["uid"]), "spec.containers{%s}" % c.name)
        for cs in spec.get("ephemeralContainers") or []:
            c = prt.c[cs["name"]]
            if c.state == "waiting" and time.time() >= c.backoff_until:
                self._start(pod, prt, c, cs)
        pod = self.api.store.get("/pods", ns, name)
        if pod is not None:
            self.write_status(pod, prt)

    def _backoff(self):
        """The first back-off (10 s, as the kubelet's); fault knob backoff_seconds."""
        return float(self.api.faults.get().get("backoff_seconds", BACKOFF_START))

    def _should_restart(self, spec, c):
        if c.kind != "containers":
            return False
        rp = spec.get("restartPolicy", "Always")
        return rp == "Always" or (rp == "OnFailure" and c.exit_code != 0)

    def _schedule(self, pod):
        md = pod["metadata"]

        def fn(p):
            p["spec"]["nodeName"] = NODE
            p.setdefault("status", {})["conditions"] = [
                {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                 "lastTransitionTime": ku.now_rfc3339()}]
        # binding, as the scheduler does it: spec.nodeName may change only once
        self.api.store.mutate("/pods", md["namespace"], md["name"], fn)
        self.event(pod, "Normal", "Scheduled", "Successfully assigned %s/%s to %s" % (
            md["namespace"], md["name"], NODE), None, component="default-scheduler")

    # --- events -----------------------------------------------------------
    def event(self, pod, typ, reason, message, field_path, component="kubelet"):
        md = pod["metadata"]
        now = ku.now_rfc3339()
        ev = {"apiVersion": "v1", "kind": "Event",
              "metadata": {"name": "%s.%x" % (md["name"], time.time_ns()), "namespace": md["namespace"]},
              "involvedObject": {"kind": "Pod", "namespace": md["namespace"], "name": md["name"],
                                 "uid": md["uid"], "apiVersion": "v1", "resourceVersion": md.get("resourceVersion", "")},
              "reason": reason, "message": message, "source": {"component": component},
              "firstTimestamp": now, "lastTimestamp": now, "count": 1, "type": typ,
              "eventTime": None, "reportingComponent": component,
              "reportingInstance": NODE if component == "kubelet" else ""}
        if component == "kubelet":
            ev["source"]["host"] = NODE
        if field_path:
            ev["involvedObject"]["fieldPath"] = field_path
        try:
            self.api.store.create("/events", md["namespace"], ev, "events")
        except ku.APIError:
            pass

    # --- images -------------------------------------------------------------
    def _creds(self, pod, registry):
        for ref in pod["spec"].get("imagePullSecrets") or []:
            s = self.api.store.get("/secrets", pod["metadata"]["namespace"], ref.get("name", ""))
            if not s:
                continue
            raw = (s.get("data") or {}).get(".dockerconfigjson")
            if not raw:
                continue
            try:
                auths = json.loads(base64.b64decode(raw)).get("auths", {})
            except ValueError:
                continue
            for host, a in auths.items():
                if host.replace("https://", "").replace("http://", "").rstrip("/") == registry:
                    if a.get("auth"):
                        return base64.b64decode(a["auth"]).decode()
                    if a.get("username"):
                        return "%s:%s" % (a["username"], a.get("password", ""))
        return None

    def pull(self, pod, image, policy):
        """Returns (image_id, rootfs_dir, image_config)."""
        ref = image
        first = ref.split("/")[0]
        if "/" not in ref or ("." not in first and ":" not in first and first != "localhost"):
            # docker.io: no network in the sandbox, as a node cut off from it
            raise PullError("ErrImagePull", 'rpc error: code = Unknown desc = failed to pull and unpack image "%s": '
                                            'failed to resolve reference "%s": dial tcp: lookup registry-1.docker.io: '
                                            'no such host' % (normalize(ref), normalize(ref)))
        repo = ref.split("@")[0]
        last = repo.rsplit("/", 1)[-1]
        if ":" in last:
            repo = repo[: len(repo) - len(last) + last.index(":")]
        registry = repo.split("/")[0]
        creds = self._creds(pod, registry)
        cached = self.tags.get(ref)
        if "@" in ref:
            digest = ref.split("@", 1)[1]
        elif cached and policy != "Always":
            digest = cached
        else:
            cmd = ["skopeo", "inspect", "--raw", "--tls-verify=false", "docker://" + ref]
            if creds:
                cmd[3:3] = ["--creds", creds]
            r = subprocess.run(cmd, capture_output=True)
            if r.returncode != 0:
                err = r.stderr.decode(errors="replace").strip()
                if "manifest unknown" in err or "not found" in err or "name unknown" in err:
                    raise PullError("ErrImagePull", 'rpc error: code = NotFound desc = failed to pull and unpack image "%s": '
                                                    'failed to resolve reference "%s": %s: not found' % (ref, ref, ref))
                if "unauthorized" in err or "denied" in err:
                    raise PullError("ErrImagePull", 'rpc error: code = Unknown desc = failed to pull and unpack image "%s": '
                                                    'failed to resolve reference "%s": pull access denied, repository does '
                                                    'not exist or may require authorization: %s' % (ref, ref, err))
                raise PullError("ErrImagePull", 'rpc error: code = Unknown desc = failed to pull and unpack image "%s": %s' % (ref, err))
            digest = "sha256:" + hashlib.sha256(r.stdout).hexdigest()
            self.tags[ref] = digest
        with self.lock:
            lk = self.img_locks.setdefault(digest, threading.Lock())
        hexd = digest.split(":", 1)[1]
        layout = os.path.join(self.img_dir, hexd)
        rootfs = os.path.join(self.img_dir, hexd + ".rootfs")
        with lk:
            if not os.path.exists(os.path.join(rootfs, ".done")):
                cmd = ["skopeo", "copy", "-q", "--src-tls-verify=false", "docker://%s@%s" % (repo, digest), "oci:%s:img" % layout]
                if creds:
                    cmd[3:3] = ["--src-creds", creds]
                r = subprocess.run(cmd, capture_output=True)
                if r.returncode != 0:
                    raise PullError("ErrImagePull", 'rpc error: code = Unknown desc = failed to pull and unpack image "%s": %s' % (
                        ref, r.stderr.decode(errors="replace").strip()))
                shutil.rmtree(rootfs, ignore_errors=True)
                os.makedirs(rootfs)
                r = subprocess.run(["umoci", "raw", "unpack", "--image", "%s:img" % layout, rootfs + "/rootfs"], capture_output=True)
                if r.returncode != 0:
                    raise PullError("ErrImagePull", "failed to unpack image: " + r.stderr.decode(errors="replace"))
                open(os.path.join(rootfs, ".done"), "w").close()
                os.chmod(rootfs, 0o755)
            cfg = self._image_config(layout)
        return "%s@%s" % (repo, digest), rootfs, cfg

    def _image_config(self, layout):
        with open(os.path.join(layout, "index.json")) as f:
            idx = json.load(f)
        m = idx["manifests"][0]
        for e in idx["manifests"]:
            if (e.get("annotations") or {}).get("org.opencontainers.image.ref.name") == "img":
                m = e
        with open(os.path.join(layout, "blobs", *m["digest"].split(":"))) as f:
            man = json.load(f)
        if man.get("manifests"):
            man_d = man["manifests"][0]["digest"]
            with open(os.path.join(layout, "blobs", *man_d.split(":"))) as f:
                man = json.load(f)
        with open(os.path.join(layout, "blobs", *man["config"]["digest"].split(":"))) as f:
            return json.load(f).get("config") or {}

    # --- containers ---------------------------------------------------------
    def _start(self, pod, prt, c, cs):
        with prt.lock:
            if c.busy or c.state != "waiting":
                return
            c.busy = True
        try:
            self._start_locked(pod, prt, c, cs)
        finally:
            c.busy = False

    def _fp(self, c):
        return "spec.%s{%s}" % (c.kind, c.name)

    def _start_locked(self, pod, prt, c, cs):
        md = pod["metadata"]
        image = cs.get("image", "")
        policy = cs.get("imagePullPolicy", "IfNotPresent")
        present = image in self.tags or "@" in image and image.split("@", 1)[1] in [v for v in self.tags.values()]
        if not (present and policy != "Always"):
            self.event(pod, "Normal", "Pulling", 'Pulling image "%s"' % image, self._fp(c))
        t0 = time.time()
        try:
            image_id, src_rootfs, icfg = self.pull(pod, image, policy)
        except PullError as e:
            c.pull_failures += 1
            first = c.reason != "ImagePullBackOff"
            c.state, c.reason, c.message = "waiting", "ErrImagePull", e.message
            self.event(pod, "Warning", "Failed", 'Failed to pull image "%s": %s' % (image, e.message), self._fp(c))
            self.event(pod, "Warning", "Failed", "Error: ErrImagePull", self._fp(c))
            self.write_status(self.api.store.get("/pods", prt.ns, prt.name) or pod, prt)
            delay = min(self._backoff() * (2 ** (c.pull_failures - 1)), BACKOFF_MAX)
            time.sleep(1.0 if first else 0)
            c.reason = "ImagePullBackOff"
            c.message = 'Back-off pulling image "%s"' % image
            c.backoff_until = time.time() + delay
            self.event(pod, "Normal", "BackOff", 'Back-off pulling image "%s"' % image, self._fp(c))
            self.event(pod, "Warning", "Failed", "Error: ImagePullBackOff", self._fp(c))
            return
        if present and policy != "Always":
            self.event(pod, "Normal", "Pulled", 'Container image "%s" already present on machine' % image, self._fp(c))
        else:
            dt = time.time() - t0
            self.event(pod, "Normal", "Pulled", 'Successfully pulled image "%s" in %.3fs (%.3fs including waiting). Image size: %d bytes.' % (
                image, dt, dt, _du(src_rootfs)), self._fp(c))
        c.image_id = image_id
        c.backoff_until = 0
        if c.pending_restart:
            c.restarts += 1
            c.pending_restart = False
        c.pull_failures = 0
        cid = secrets.token_hex(32)
        cdir = os.path.join(self.pods_dir, md["uid"], c.name)
        os.makedirs(cdir, exist_ok=True)
        rootfs = os.path.join(cdir, "rootfs")
        subprocess.run(["rm", "-rf", "--one-file-system", rootfs], capture_output=True)
        r = subprocess.run(["cp", "-a", "--reflink=auto", src_rootfs + "/rootfs", rootfs], capture_output=True)
        if r.returncode != 0:
            c.reason, c.message = "CreateContainerError", r.stderr.decode(errors="replace")
            return
        term = os.path.join(cdir, "termination-log")
        with open(term, "w"):
            pass
        os.chmod(term, 0o666)
        log = os.path.join(cdir, "%d.log" % c.restarts)
        try:
            config = self._config(pod, prt, c, cs, icfg, rootfs, term)
        except PullError as e:
            c.state, c.reason, c.message = "waiting", e.reason, e.message
            self.event(pod, "Warning", "Failed", "Error: " + e.message, self._fp(c))
            c.backoff_until = time.time() + BACKOFF_START
            return
        with open(os.path.join(cdir, "config.json"), "w") as f:
            json.dump(config, f)
        self.event(pod, "Normal", "Created", "Created container %s" % c.name, self._fp(c))
        pidfile = os.path.join(cdir, "pid")
        with open(log, "ab") as lf:
            r = subprocess.run(["runc", "--root", self.root, "run", "-d", "--pid-file", pidfile, "-b", cdir, cid],
                               stdin=subprocess.DEVNULL, stdout=lf, stderr=lf)
        c.id, c.dir, c.log = cid, cdir, log
        if r.returncode != 0:
            with open(log, "rb") as f:
                err = f.read().decode(errors="replace").strip()
            open(log, "w").close()
            subprocess.run(["runc", "--root", self.root, "delete", "-f", cid], capture_output=True)
            msg = "failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: " + err.splitlines()[-1] if err else "runc failed"
            now = ku.now_rfc3339()
            c.state, c.reason, c.message, c.exit_code = "terminated", "StartError", msg, 128
            c.started_at = c.finished_at = now
            self.event(pod, "Warning", "Failed", "Error: " + msg, self._fp(c))
            self.write_status(self.api.store.get("/pods", prt.ns, prt.name) or pod, prt)
            self.enqueue((prt.ns, prt.name))
            return
        with open(pidfile) as f:
            pid = int(f.read().strip())
        c.pid = pid
        c.state, c.reason, c.message = "running", None, None
        c.started_at = ku.now_rfc3339()
        c.exit_code = None
        if prt.sandbox_pid is None and c.kind == "containers":
            prt.sandbox_pid = pid
        with self.lock:
            self.pids[pid] = (prt, c)
        self.event(pod, "Normal", "Started", "Started container %s" % c.name, self._fp(c))

    def _config(self, pod, prt, c, cs, icfg, rootfs, term):
        spec = pod["spec"]
        psc = spec.get("securityContext") or {}
        sc = cs.get("securityContext") or {}
        cfg = json.loads(json.dumps(self.base_spec))
        # user: container, pod, image USER
        uid, gid = 0, 0
        iu = icfg.get("User") or ""
        if iu:
            parts = iu.split(":")
            try:
                uid = int(parts[0])
                gid = int(parts[1]) if len(parts) > 1 else uid
            except ValueError:
                ids = _lookup_user(rootfs, parts[0])
                if ids is None:
                    raise PullError("CreateContainerError", "failed to generate spec: no users found" if not os.path.exists(
                        os.path.join(rootfs, "etc/passwd")) else "failed to generate spec: unable to find user %s: no matching entries in passwd file" % parts[0])
                uid, gid = ids
                if len(parts) > 1:
                    gid = int(parts[1]) if parts[1].isdigit() else gid
        if "runAsUser" in psc:
            uid = int(psc["runAsUser"])
        if "runAsGroup" in psc:
            gid = int(psc["runAsGroup"])
        if "runAsUser" in sc:
            uid = int(sc["runAsUser"])
        if "runAsGroup" in sc:
            gid = int(sc["runAsGroup"])
        non_root = sc.get("runAsNonRoot", psc.get("runAsNonRoot"))
        if non_root and uid == 0:
            raise PullError("CreateContainerConfigError", "container has runAsNonRoot and image will run as root (pod: \"%s_%s(%s)\", container: %s)" % (
                prt.name, prt.ns, prt.uid, c.name))
        groups = [int(g) for g in psc.get("supplementalGroups") or []]
        if psc.get("fsGroup") is not None:
            groups.append(int(psc["fsGroup"]))
        entry = cs.get("command") or icfg.get("Entrypoint") or []
        args = cs.get("args") if cs.get("command") or cs.get("args") is not None else None
        if args is None:
            args = [] if cs.get("command") else (icfg.get("Cmd") or [])
        argv = list(entry) + list(args or [])
        if not argv:
            raise PullError("CreateContainerError", "no command specified")
        env = list(icfg.get("Env") or [])
        for e in cs.get("env") or []:
            if "value" in e:
                env = [x for x in env if not x.startswith(e["name"] + "=")] + ["%s=%s" % (e["name"], e["value"])]
        env += ["HOSTNAME=" + prt.name, "KUBERNETES_SERVICE_HOST=127.0.0.1", "KUBERNETES_SERVICE_PORT=443"]
        p = cfg["process"]
        p["terminal"] = False
        p["user"] = {"uid": uid, "gid": gid}
        if groups:
            p["user"]["additionalGids"] = groups
        p["args"] = argv
        p["env"] = env
        p["cwd"] = cs.get("workingDir") or icfg.get("WorkingDir") or "/"
        caps = list(DEFAULT_CAPS)
        capsc = sc.get("capabilities") or {}
        drop = [_cap(x) for x in capsc.get("drop") or []]
        if "CAP_ALL" in drop:
            caps = []
        caps = [x for x in caps if x not in drop]
        for a in capsc.get("add") or []:
            a = _cap(a)
            if a == "CAP_ALL":
                caps = list(ALL_CAPS)
            elif a not in caps:
                caps.append(a)
        if sc.get("privileged"):
            caps = list(ALL_CAPS)
        p["capabilities"] = {"bounding": caps, "effective": caps, "permitted": caps}
        p.pop("apparmorProfile", None)
        p["noNewPrivileges"] = sc.get("allowPrivilegeEscalation") is False
        cfg["root"] = {"path": rootfs, "readonly": bool(sc.get("readOnlyRootFilesystem"))}
        cfg["hostname"] = prt.name
        mounts = cfg["mounts"]
        mounts.append({"destination": cs.get("terminationMessagePath") or "/dev/termination-log",
                       "type": "bind", "source": term, "options": ["rbind", "rw"]})
        vols = {v["name"]: v for v in spec.get("volumes") or []}
        for vm in cs.get("volumeMounts") or []:
            v = vols.get(vm.get("name"))
            if v is None:
                continue
            src = self._volume(pod, prt, v)
            if src:
                opts = ["rbind", "ro" if vm.get("readOnly") or "configMap" in v or "secret" in v else "rw"]
                mounts.append({"destination": vm["mountPath"], "type": "bind", "source": src, "options": opts})
        linux = cfg["linux"]
        linux.pop("resources", None)
        linux["resources"] = {"devices": [{"allow": False, "access": "rwm"}]}
        linux["cgroupsPath"] = "/%s/%s" % (self.cgroup_parent, "x" + hashlib.sha256((prt.uid + c.name + str(c.restarts)).encode()).hexdigest()[:20])
        nss = [{"type": "mount"}]
        sp = prt.sandbox_pid if prt.sandbox_pid and os.path.exists("/proc/%d" % prt.sandbox_pid) else None
        if sp:
            nss += [{"type": "network", "path": "/proc/%d/ns/net" % sp},
                    {"type": "ipc", "path": "/proc/%d/ns/ipc" % sp},
                    {"type": "uts", "path": "/proc/%d/ns/uts" % sp}]
        else:
            nss += [{"type": "network"}, {"type": "ipc"}, {"type": "uts"}]
        target = cs.get("targetContainerName") if c.kind == "ephemeralContainers" else None
        if target:
            t = prt.c.get(target)
            if t is None or t.state != "running" or not t.pid:
                raise PullError("CreateContainerError", 'target container "%s" is not running' % target)
            nss.append({"type": "pid", "path": "/proc/%d/ns/pid" % t.pid})
        else:
            nss.append({"type": "pid"})
        linux["namespaces"] = nss
        if sc.get("privileged"):
            linux["maskedPaths"] = []
            linux["readonlyPaths"] = []
        return cfg

    def _volume(self, pod, prt, v):
        vdir = os.path.join(self.pods_dir, prt.uid, "volumes", v["name"])
        if os.path.isdir(vdir) and "emptyDir" in v:
            return vdir
        os.makedirs(vdir, exist_ok=True)
        ns = prt.ns
        if "emptyDir" in v:
            os.chmod(vdir, 0o777)
            return vdir
        if "hostPath" in v:
            return v["hostPath"].get("path")
        src = None
        if "configMap" in v:
            o = self.api.store.get("/configmaps", ns, v["configMap"].get("name", ""))
            src = {k: val.encode() for k, val in ((o or {}).get("data") or {}).items()}
            src.update({k: base64.b64decode(val) for k, val in ((o or {}).get("binaryData") or {}).items()})
        elif "secret" in v:
            o = self.api.store.get("/secrets", ns, v["secret"].get("secretName", ""))
            src = {k: base64.b64decode(val) for k, val in ((o or {}).get("data") or {}).items()}
        if src is None:
            return None
        for k, data in src.items():
            with open(os.path.join(vdir, k), "wb") as f:
                f.write(data)
            os.chmod(os.path.join(vdir, k), 0o644)
        return vdir

    def _exited(self, prt, c, code, sig):
        # the state changes only once the message is read, under the pod's
        # lock, as write_status reads them: a status must never show
        # "terminated" without its termination message (a real kubelet
        # reports both from one runtime status)
        msg = ""
        try:
            with open(os.path.join(c.dir, "termination-log"), "rb") as f:
                msg = f.read(MAX_TERMINATION_MESSAGE).decode(errors="replace")
        except OSError:
            pass
        pod = self.api.store.get("/pods", prt.ns, prt.name)
        cs = None
        if pod is not None:
            for k in ("containers", "ephemeralContainers"):
                for x in pod["spec"].get(k) or []:
                    if x["name"] == c.name:
                        cs = x
        if not msg and code != 0 and cs and cs.get("terminationMessagePolicy") == "FallbackToLogsOnError":
            try:
                with open(c.log, "rb") as f:
                    data = f.read()
                lines = data.splitlines(keepends=True)[-80:]
                msg = b"".join(lines)[-2048:].decode(errors="replace")
            except OSError:
                pass
        with prt.lock:
            c.exit_code = code
            c.signal = sig
            c.finished_at = ku.now_rfc3339()
            c.reason = "Completed" if code == 0 else "Error"
            c.message = msg or None
            c.state = "terminated"
        subprocess.run(["runc", "--root", self.root, "delete", "-f", c.id], capture_output=True)
        if pod is not None:
            self.write_status(pod, prt)
            self.enqueue((prt.ns, prt.name))

    def _terminated(self, c):
        t = {"exitCode": c.exit_code, "reason": c.reason, "startedAt": c.started_at,
             "finishedAt": c.finished_at, "containerID": "containerd://" + c.id if c.id else None}
        if c.signal:
            t["signal"] = c.signal
        if c.message:
            t["message"] = c.message
        return {k: v for k, v in t.items() if v is not None}

    def container_id(self, pod, cname):
        prt = self.pods.get((pod["metadata"]["namespace"], pod["metadata"]["name"]))
        c = prt.c.get(cname) if prt else None
        return c.id if c is not None and c.state == "running" else None

    def container_running(self, pod, cname):
        prt = self.pods.get((pod["metadata"]["namespace"], pod["metadata"]["name"]))
        if prt is None:
            return False
        c = prt.c.get(cname)
        return c is not None and c.state == "running"

    def log_path(self, pod, cname, previous=False):
        prt = self.pods.get((pod["metadata"]["namespace"], pod["metadata"]["name"]))
        if prt is None or cname not in prt.c:
            return None
        c = prt.c[cname]
        if c.dir is None:
            return None
        n = c.restarts - 1 if previous else c.restarts
        if n < 0:
            return None
        return os.path.join(c.dir, "%d.log" % n)

    # --- status ---------------------------------------------------------------
    def _cstatus(self, c, cs):
        st = {"name": c.name}
        if c.state == "running":
            st["state"] = {"running": {"startedAt": c.started_at}}
        elif c.state == "terminated":
            st["state"] = {"terminated": self._terminated(c)}
        else:
            w = {"reason": c.reason}
            if c.message:
                w["message"] = c.message
            st["state"] = {"waiting": w}
        st["lastState"] = {"terminated": c.last} if c.last else {}
        st["ready"] = c.state == "running" and c.kind == "containers"
        st["restartCount"] = c.restarts
        img = cs.get("image", "")
        st["image"] = normalize(img) if c.image_id else img
        st["imageID"] = c.image_id or ""
        if c.id and c.state != "waiting":
            st["containerID"] = "containerd://" + c.id
        elif c.last and c.last.get("containerID"):
            st["containerID"] = c.last["containerID"]
        if c.kind == "containers":
            st["started"] = c.state == "running"
        return st

    def write_status(self, pod, prt):
        spec = pod["spec"]
        with prt.lock:
            cst = [self._cstatus(prt.c[x["name"]], x) for x in spec.get("containers") or [] if x["name"] in prt.c]
            est = [self._cstatus(prt.c[x["name"]], x) for x in spec.get("ephemeralContainers") or [] if x["name"] in prt.c]
        states = [prt.c[x["name"]] for x in spec.get("containers") or [] if x["name"] in prt.c]
        all_run = states and all(c.state == "running" for c in states)
        any_run = any(c.state == "running" for c in states)
        all_term = states and all(c.state == "terminated" and not self._should_restart(spec, c) for c in states)
        if all_term:
            phase = "Succeeded" if all(c.exit_code == 0 for c in states) else "Failed"
        elif any_run or any(c.restarts or c.backoffs for c in states):
            phase = "Running"
        else:
            phase = "Pending"

        def fn(p):
            old = p.get("status", {})
            conds = {c["type"]: c for c in old.get("conditions") or []}

            def cond(t, ok, reason=None):
                s = "True" if ok else "False"
                cur = conds.get(t)
                if cur and cur["status"] == s:
                    return cur
                c = {"type": t, "status": s, "lastProbeTime": None, "lastTransitionTime": ku.now_rfc3339()}
                if reason and not ok:
                    c["reason"] = reason
                return c
            not_ready = [c.name for c in states if c.state != "running"]
            reason = "ContainersNotReady" if not_ready else None
            newc = [cond("PodReadyToStartContainers", True), cond("Initialized", True),
                    cond("Ready", bool(all_run), reason), cond("ContainersReady", bool(all_run), reason),
                    cond("PodScheduled", True)]
            for c in newc:
                if c.get("reason") == "ContainersNotReady":
                    c["message"] = "containers with unready status: [%s]" % " ".join(not_ready)
            st = {"phase": phase, "conditions": newc, "hostIP": "127.0.0.1",
                  "hostIPs": [{"ip": "127.0.0.1"}], "startTime": prt.start_time,
                  "containerStatuses": cst, "qosClass": old.get("qosClass", "BestEffort")}
            if est:
                st["ephemeralContainerStatuses"] = est
            if st == old:
                return False
            p["status"] = st
        self.api.store.mutate("/pods", prt.ns, prt.name, fn, "pods")

    # --- deletion -------------------------------------------------------------
    def _kill_pod(self, prt, grace, remove=False):
        cs = list(prt.c.values())
        running = [c for c in cs if c.state == "running" and c.id]
        for c in running:
            subprocess.run(["runc", "--root", self.root, "kill", c.id, "TERM"], capture_output=True)
        deadline = time.time() + float(grace or 0)
        while time.time() < deadline and any(c.state == "running" for c in running):
            time.sleep(0.1)
        for c in running:
            if c.state == "running":
                subprocess.run(["runc", "--root", self.root, "kill", "-a", c.id, "KILL"], capture_output=True)
        deadline = time.time() + 5
        while time.time() < deadline and any(c.state == "running" for c in running):
            time.sleep(0.05)
        for c in cs:
            if c.id:
                subprocess.run(["runc", "--root", self.root, "delete", "-f", c.id], capture_output=True)
        with self.lock:
            if self.pods.get((prt.ns, prt.name)) is prt:
                del self.pods[(prt.ns, prt.name)]
        subprocess.run(["rm", "-rf", "--one-file-system", os.path.join(self.pods_dir, prt.uid)], capture_output=True)
        if remove:
            cur = self.api.store.get("/pods", prt.ns, prt.name)
            if cur is not None and cur["metadata"]["uid"] == prt.uid:
                try:
                    self.api.store.delete("/pods", prt.ns, prt.name, "pods")
                except ku.APIError:
                    pass


def runc_all(root, ids, parallel=8):
    """runc delete -f (which SIGKILLs) every container, a few at a time."""
    ids = list(ids)
    for i in range(0, len(ids), parallel):
        procs = [subprocess.Popen(["runc", "--root", root, "delete", "-f", cid],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for cid in ids[i:i + parallel]]
        for p in procs:
            p.wait()


def _cap(x):
    x = str(x).upper()
    return x if x.startswith("CAP_") else "CAP_" + x


def _du(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


def _lookup_user(rootfs, name):
    """(uid, gid) of a user name in the image's /etc/passwd, None if absent
    (containerd then fails the container)."""
    try:
        with open(os.path.join(rootfs, "etc/passwd")) as f:
            for line in f:
                p = line.split(":")
                if p[0] == name and len(p) > 3:
                    return int(p[2]), int(p[3])
    except (OSError, ValueError):
        pass
    return None


def normalize(ref):
    """The image reference as containerd reports it: docker.io/library/x:latest."""
    name = ref
    if "@" not in name:
        last = name.rsplit("/", 1)[-1]
        if ":" not in last:
            name += ":latest"
    first = name.split("/")[0]
    if "/" not in name or ("." not in first and ":" not in first and first != "localhost"):
        if "/" not in name:
            name = "library/" + name
        name = "docker.io/" + name
    return name
