"""psa - Pod Security admission (k8s.io/pod-security-admission), the checks
the sandbox needs, with upstream's reasons and detail texts.

evaluate(pod, level) -> list of "reason (detail)" strings, in upstream order
(baseline checks first, then restricted, each by check id). The admission
message is then:
  pods "NAME" is forbidden: violates PodSecurity "LEVEL:latest": A, B, ...
"""

BASELINE_CAPS = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID",
                 "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID",
                 "SETPCAP", "SETUID", "SYS_CHROOT"}


def _containers(pod):
    spec = pod.get("spec", {})
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for c in spec.get(key) or []:
            yield c


def _quote_list(names):
    return ", ".join('"%s"' % n for n in names)


def _cont(names, plural_word="containers", single_word="container"):
    if len(names) == 1:
        return '%s "%s"' % (single_word, names[0])
    return "%s %s" % (plural_word, _quote_list(names))


def _sc(c):
    return c.get("securityContext") or {}


def _cap_name(c):
    c = str(c)
    return c[4:] if c.upper().startswith("CAP_") else c


def check_capabilities_baseline(pod):
    bad = []
    caps_all = []
    for c in _containers(pod):
        add = ((_sc(c).get("capabilities") or {}).get("add")) or []
        forb = [str(a) for a in add if str(a) not in BASELINE_CAPS]
        if forb:
            bad.append(c["name"])
            for a in forb:
                if a not in caps_all:
                    caps_all.append(a)
    if bad:
        return "non-default capabilities", "%s must not include %s in securityContext.capabilities.add" % (
            _cont(bad), _quote_list(sorted(caps_all)))
    return None


def check_host_namespaces(pod):
    spec = pod.get("spec", {})
    parts = []
    for f in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(f):
            parts.append("%s=true" % f)
    if parts:
        return "host namespaces", ", ".join(parts)
    return None


def check_host_path(pod):
    vols = [v["name"] for v in pod.get("spec", {}).get("volumes") or [] if "hostPath" in v]
    if vols:
        return "hostPath volumes", ("volume %s" % _quote_list(vols)) if len(vols) == 1 else ("volumes %s" % _quote_list(vols))
    return None


def check_host_ports(pod):
    bad = []
    ports = []
    for c in _containers(pod):
        hp = [p.get("hostPort") for p in c.get("ports") or [] if p.get("hostPort")]
        if hp:
            bad.append(c["name"])
            ports += [str(p) for p in hp]
    if bad:
        return "hostPort", "%s %s %s" % (_cont(bad), "uses hostPort" if len(ports) == 1 else "use hostPorts", ", ".join(ports))
    return None


def check_privileged(pod):
    bad = [c["name"] for c in _containers(pod) if _sc(c).get("privileged")]
    if bad:
        return "privileged", "%s must not set securityContext.privileged=true" % _cont(bad)
    return None


def _seccomp_bad(pod, allowed_fn, restricted):
    psc = pod.get("spec", {}).get("securityContext") or {}
    ptype = (psc.get("seccompProfile") or {}).get("type")
    msgs = []
    pod_bad = ptype is not None and not allowed_fn(ptype)
    if pod_bad:
        msgs.append('pod must not set securityContext.seccompProfile.type to "%s"' % ptype)
    bad_set = []
    unset = []
    for c in _containers(pod):
        ctype = (_sc(c).get("seccompProfile") or {}).get("type")
        if ctype is not None:
            if not allowed_fn(ctype):
                bad_set.append((c["name"], ctype))
        elif restricted and (ptype is None):
            unset.append(c["name"])
    if bad_set:
        names = [n for n, _ in bad_set]
        t = bad_set[0][1]
        msgs.append('%s must not set securityContext.seccompProfile.type to "%s"' % (_cont(names), t))
    if unset:
        if len(unset) == 1:
            msgs.append('pod or container "%s" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"' % unset[0])
        else:
            msgs.append('pod or containers %s must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"' % _quote_list(unset))
    if msgs:
        return "seccompProfile", "; ".join(msgs)
    return None


def check_seccomp_baseline(pod):
    return _seccomp_bad(pod, lambda t: t != "Unconfined", False)


def check_seccomp_restricted(pod):
    return _seccomp_bad(pod, lambda t: t in ("RuntimeDefault", "Localhost"), True)


def check_allow_privilege_escalation(pod):
    bad = [c["name"] for c in _containers(pod) if _sc(c).get("allowPrivilegeEscalation") is not False]
    if bad:
        return "allowPrivilegeEscalation != false", "%s must set securityContext.allowPrivilegeEscalation=false" % _cont(bad)
    return None


def check_capabilities_restricted(pod):
    no_drop = []
    bad_add = []
    caps = []
    for c in _containers(pod):
        capsc = _sc(c).get("capabilities") or {}
        drop = [str(d) for d in capsc.get("drop") or []]
        if "ALL" not in drop:
            no_drop.append(c["name"])
        forb = [str(a) for a in capsc.get("add") or [] if str(a) != "NET_BIND_SERVICE"]
        if forb:
            bad_add.append(c["name"])
            for a in forb:
                if a not in caps:
                    caps.append(a)
    msgs = []
    if no_drop:
        msgs.append('%s must set securityContext.capabilities.drop=["ALL"]' % _cont(no_drop))
    if bad_add:
        msgs.append('%s must not include %s in securityContext.capabilities.add' % (_cont(bad_add), _quote_list(sorted(caps))))
    if msgs:
        return "unrestricted capabilities", "; ".join(msgs)
    return None


def check_restricted_volumes(pod):
    allowed = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
               "persistentVolumeClaim", "projected", "secret"}
    bad = []
    types = []
    for v in pod.get("spec", {}).get("volumes") or []:
        kinds = [k for k in v if k != "name"]
        for k in kinds:
            if k not in allowed:
                bad.append(v["name"])
                if k not in types:
                    types.append(k)
    if bad:
        w = "volume" if len(bad) == 1 else "volumes"
        return "restricted volume types", "%s %s %s %s" % (w, _quote_list(bad), "uses restricted volume type" if len(bad) == 1 else "use restricted volume types", _quote_list(types))
    return None


def check_run_as_non_root(pod):
    psc = pod.get("spec", {}).get("securityContext") or {}
    pval = psc.get("runAsNonRoot")
    msgs = []
    if pval is False:
        msgs.append("pod must not set securityContext.runAsNonRoot=false")
    explicit_false = []
    unset = []
    for c in _containers(pod):
        v = _sc(c).get("runAsNonRoot")
        if v is False:
            explicit_false.append(c["name"])
        elif v is None and pval is not True:
            unset.append(c["name"])
    if explicit_false:
        msgs.append("%s must not set securityContext.runAsNonRoot=false" % _cont(explicit_false))
    if unset and pval is None:
        if len(unset) == 1:
            msgs.append('pod or container "%s" must set securityContext.runAsNonRoot=true' % unset[0])
        else:
            msgs.append('pod or containers %s must set securityContext.runAsNonRoot=true' % _quote_list(unset))
    if msgs:
        return "runAsNonRoot != true", "; ".join(msgs)
    return None


def check_run_as_user(pod):
    psc = pod.get("spec", {}).get("securityContext") or {}
    msgs = []
    if psc.get("runAsUser") == 0:
        msgs.append("pod must not set runAsUser=0")
    bad = [c["name"] for c in _containers(pod) if _sc(c).get("runAsUser") == 0]
    if bad:
        msgs.append("%s must not set runAsUser=0" % _cont(bad))
    if msgs:
        return "runAsUser=0", "; ".join(msgs)
    return None


BASELINE = [check_capabilities_baseline, check_host_namespaces, check_host_path,
            check_host_ports, check_privileged, check_seccomp_baseline]
RESTRICTED = [check_host_namespaces, check_host_path, check_host_ports,
              check_privileged, check_allow_privilege_escalation,
              check_capabilities_restricted, check_restricted_volumes,
              check_run_as_non_root, check_run_as_user, check_seccomp_restricted]


def evaluate(pod, level):
    if level == "privileged" or not level:
        return []
    checks = RESTRICTED if level == "restricted" else BASELINE
    out = []
    for chk in checks:
        r = chk(pod)
        if r:
            out.append("%s (%s)" % r)
    return out


def level_of(ns_labels):
    lvl = (ns_labels or {}).get("pod-security.kubernetes.io/enforce", "privileged")
    if lvl not in ("privileged", "baseline", "restricted"):
        lvl = "privileged"
    ver = (ns_labels or {}).get("pod-security.kubernetes.io/enforce-version", "latest")
    return lvl, ver


def message(pod_name, level, version, violations):
    return 'pods "%s" is forbidden: violates PodSecurity "%s:%s": %s' % (
        pod_name, level, version, ", ".join(violations))
