"""What this host can't give a config: the probes behind explained errors and `pyrunc check`.

Each probe looks at one concern and returns findings ``(level, field, message)`` without
creating anything. `pyrunc check` runs them all; create's failure paths call the same
functions (``attrs.rlimit_problem``, ``seccomp.compile_filter``...) to say *why* the host
refused, so the explanation and the check can't drift apart.
"""

from pyrunc import _os as os  # os without `import os` (see pyrunc/_os.py)
from pyrunc.errors import PyruncError

ERROR = "error"
WARNING = "warning"


def _f(level, field, message):
    return (level, field, message)


def check_bundle(bundle):
    """All findings for the bundle at ``bundle`` (validation first: probes need a valid
    config)."""
    from pyrunc import jsonio
    from pyrunc.spec import validate
    path = os.path.join(bundle, "config.json")
    try:
        with open(path, "rb") as f:
            config = jsonio.loads(f.read())
    except OSError as e:
        return [_f(ERROR, "config.json", e.strerror)]
    except (ValueError, UnicodeDecodeError) as e:
        return [_f(ERROR, "config.json", "invalid JSON: %s" % e)]
    if not isinstance(config, dict):
        return [_f(ERROR, "config.json", "the top level must be an object")]
    problem = validate.config_problem(config)
    if problem is not None:
        return [_f(ERROR, problem[0] or "config.json", problem[1])]
    out = [_f(WARNING, "config.json", w) for w in validate.config_warnings(config)]
    for probe in PROBES:
        try:
            out.extend(probe(config, bundle))
        except PyruncError as e:
            out.append(_f(ERROR, probe.__name__, str(e)))
    return out


def _linux(config):
    return config.get("linux") or {}


def _nss(config):
    return {ns["type"]: ns for ns in _linux(config).get("namespaces") or ()}


def _rootfs(config, bundle):
    root = config["root"]["path"]
    return root if os.path.isabs(root) else os.path.join(bundle, root)


def probe_rootfs(config, bundle):
    rootfs = _rootfs(config, bundle)
    if not os.path.isdir(rootfs):
        return [_f(ERROR, "root.path", "%s is not a directory" % rootfs)]
    return []


def probe_rlimits(config, bundle):
    from pyrunc.process import attrs
    out = []
    for r in (config.get("process") or {}).get("rlimits") or ():
        why = attrs.rlimit_problem(r)
        if why:
            out.append(_f(ERROR, "process.rlimits[%s]" % r["type"], why))
    return out


def probe_user_namespace(config, bundle):
    nss = _nss(config)
    if "user" not in nss or nss["user"].get("path"):
        return []
    out = []
    try:
        with open("/proc/sys/user/max_user_namespaces") as f:
            if int(f.read()) == 0:
                out.append(_f(ERROR, "linux.namespaces[user]", "user namespaces are disabled "
                              "on this host (user.max_user_namespaces = 0)"))
    except OSError:
        out.append(_f(ERROR, "linux.namespaces[user]", "this kernel has no user namespaces"))
    linux = _linux(config)
    user = (config.get("process") or {}).get("user") or {}
    for key, idname in (("uidMappings", "uid"), ("gidMappings", "gid")):
        maps = linux.get(key) or ()
        ids = [user.get(idname, 0)]
        if idname == "gid":
            ids += user.get("additionalGids") or []
        for i in ids:
            if not any(m["containerID"] <= i < m["containerID"] + m["size"] for m in maps):
                out.append(_f(ERROR, "process.user.%s" % idname, "%d is not mapped by "
                              "linux.%s" % (i, key)))
    if os.geteuid() != 0:
        import shutil
        uid_maps = linux.get("uidMappings") or ()
        own = len(uid_maps) == 1 and uid_maps[0]["hostID"] == os.geteuid() and \
            uid_maps[0]["size"] == 1
        if not own and shutil.which("newuidmap") is None:
            out.append(_f(ERROR, "linux.uidMappings", "mapping more than your own id needs "
                          "newuidmap/newgidmap (package uidmap)"))
    return out


def _filesystems():
    try:
        with open("/proc/filesystems") as f:
            return {line.split()[-1] for line in f if line.strip()}
    except OSError:
        return set()


def probe_mounts(config, bundle):
    out = []
    fss = None
    from pyrunc.rootfs import idmap
    for i, m in enumerate(config.get("mounts") or ()):
        typ = m.get("type") or ""
        opts = m.get("options") or ()
        bind = typ == "bind" or "bind" in opts or "rbind" in opts
        if bind:
            src = m.get("source") or ""
            if not os.path.isabs(src):
                src = os.path.join(bundle, src)
            if not os.path.exists(src):
                out.append(_f(ERROR, "mounts[%d].source" % i, "%s does not exist on this host "
                              "(create it, or fix the path)" % src))
            if idmap.wants_idmap(m) and os.path.exists(src) and os.geteuid() == 0:
                # only trying tells whether this filesystem can be idmapped: do exactly what
                # create does (a detached clone, never attached) and throw it away
                try:
                    fds = idmap.prepare({"mounts": [m], "linux": _linux(config)}, bundle)
                except PyruncError as e:
                    out.append(_f(ERROR, "mounts[%d]" % i, str(e).split(": ", 1)[-1]))
                else:
                    for fd in fds.values():
                        os.close(fd)
        elif typ:
            if fss is None:
                fss = _filesystems()
            if typ not in fss:
                out.append(_f(ERROR, "mounts[%d].type" % i, "filesystem %r is not available "
                              "in this kernel (see /proc/filesystems; load its module?)" % typ))
    return out


def probe_sysctl(config, bundle):
    out = []
    for key in (_linux(config).get("sysctl") or {}):
        if not os.path.exists("/proc/sys/" + key.replace(".", "/")):
            out.append(_f(ERROR, "linux.sysctl[%s]" % key, "this kernel has no such sysctl"))
    return out


_apparmor = None


def apparmor_enabled():
    """Cached: the init and exec ask first while the host's /sys is in view (their
    ``_preload``), since a container's /sys could be a fake saying "N"."""
    global _apparmor
    if _apparmor is None:
        try:
            with open("/sys/module/apparmor/parameters/enabled") as f:
                _apparmor = f.read().strip() == "Y"
        except OSError:
            _apparmor = False
    return _apparmor


def selinux_enabled():
    return os.path.exists("/sys/fs/selinux/enforce")


def probe_lsm(config, bundle):
    """Labels the host can't apply fail create (runc does too); mountLabel is left out."""
    out = []
    proc = config.get("process") or {}
    if proc.get("apparmorProfile") and not apparmor_enabled():
        out.append(_f(ERROR, "process.apparmorProfile", "AppArmor is not enabled on this host "
                      "(remove the profile %r, or enable AppArmor)" % proc["apparmorProfile"]))
    if proc.get("selinuxLabel") and not selinux_enabled():
        out.append(_f(ERROR, "process.selinuxLabel", "SELinux is not enabled on this host "
                      "(remove the label %r, or enable SELinux)" % proc["selinuxLabel"]))
    if _linux(config).get("mountLabel") and not selinux_enabled():
        out.append(_f(WARNING, "linux.mountLabel", "SELinux is not enabled on this host: the "
                      "mount label would be left out (as runc does)"))
    if _linux(config).get("intelRdt") is not None:
        out.extend(_f(ERROR, f, m) for f, m in intel_rdt_problems(config))
    return out


def intel_rdt_problems(config):
    """pyrunc has no Intel RDT support: a config asking for it can't be honoured."""
    if not os.path.isdir("/sys/fs/resctrl/info"):
        return [("linux.intelRdt", "Intel RDT/CAT is not enabled on this host (no resctrl "
                 "filesystem at /sys/fs/resctrl)")]
    return [("linux.intelRdt", "Intel RDT is not supported by this pyrunc")]


def probe_process(config, bundle):
    if not config.get("process"):
        return [_f(ERROR, "process", "a container needs a process to run (start MUST fail "
                   "without one; pyrunc refuses it at create, as runc does)")]
    return []


def probe_time_namespace(config, bundle):
    if "time" in _nss(config) and not os.path.exists("/proc/self/ns/time"):
        return [_f(ERROR, "linux.namespaces[time]", "this kernel has no time namespaces "
                   "(Linux 5.6 or newer)")]
    return []


def probe_net_devices(config, bundle):
    out = []
    for name in (_linux(config).get("netDevices") or {}):
        if not os.path.exists("/sys/class/net/" + name):
            out.append(_f(ERROR, "linux.netDevices[%s]" % name, "no such network interface "
                          "on this host"))
    return out


def probe_hooks(config, bundle):
    out = []
    for kind, hooks in (config.get("hooks") or {}).items():
        if kind == "startContainer":
            continue  # resolved inside the container's root
        for i, h in enumerate(hooks or ()):
            p = h.get("path", "")
            if not os.path.isfile(p):
                out.append(_f(ERROR, "hooks.%s[%d].path" % (kind, i), "%s does not exist" % p))
            elif not os.access(p, os.X_OK):
                out.append(_f(ERROR, "hooks.%s[%d].path" % (kind, i), "%s is not executable"
                              % p))
    return out


def probe_executable(config, bundle):
    """process.args[0] must be found in the rootfs with the container's PATH."""
    proc = config.get("process") or {}
    args = proc.get("args") or []
    if not args:
        return []
    rootfs = _rootfs(config, bundle)
    if not os.path.isdir(rootfs):
        return []
    from pyrunc.linux import consts as C
    from pyrunc.rootfs import paths
    rootfd = os.open(rootfs, C.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        cands = [args[0]] if "/" in args[0] else []
        if not cands:
            path = ""
            for e in proc.get("env") or ():
                if e.startswith("PATH="):
                    path = e[5:]
            cwd = proc.get("cwd") or "/"
            cands = [os.path.join(d if d.startswith("/") else os.path.join(cwd, d), args[0])
                     for d in path.split(":") if d is not None]
        for c in cands:
            if "/" in args[0] and not c.startswith("/"):
                c = os.path.join(proc.get("cwd") or "/", c)
            try:
                fd = paths.open_in_root(rootfd, c, os.O_RDONLY)
            except OSError:
                continue
            os.close(fd)
            return []
    finally:
        os.close(rootfd)
    if "/" in args[0]:
        return [_f(ERROR, "process.args[0]", "%s: no such file in the rootfs" % args[0])]
    return [_f(ERROR, "process.args[0]", 'exec: "%s": executable file not found in $PATH'
               % args[0])]


def probe_seccomp(config, bundle):
    sc = _linux(config).get("seccomp")
    if not sc:
        return []
    from pyrunc import seccomp
    try:
        seccomp.compile_filter(sc, connect=False)  # check must not talk to an agent
    except PyruncError as e:
        return [_f(ERROR, "linux.seccomp", str(e))]
    return []


def probe_cgroups(config, bundle):
    """Whether this host can apply linux.resources: the same code as create, applied to a
    throw-away cgroup beside the container's, removed again (with any parent it needed)."""
    linux = _linux(config)
    resources = linux.get("resources")
    if not resources or os.geteuid() != 0:
        return []
    from pyrunc import cgroups
    from pyrunc.cgroups.common import ResourceError
    path = linux.get("cgroupsPath") or "pyrunc-check"
    probe_path = os.path.join(os.path.dirname(path.rstrip("/")) or
                              ("/" if path.startswith("/") else ""),
                              "pyrunc-check-%d" % os.getpid())
    try:
        cg = cgroups.Manager.for_container(probe_path, "check")
    except PyruncError as e:
        return [_f(ERROR, "linux.cgroupsPath", str(e))]
    made = []
    try:
        made = cg.create()
        cg.apply_resources(resources)
    except ResourceError as e:
        field, _, msg = str(e).partition(": ")
        return [_f(ERROR, field, msg.replace(probe_path, path))]
    except (PyruncError, OSError) as e:
        return [_f(ERROR, "linux.resources", str(e))]
    finally:
        cg.destroy()
        for d in reversed(made):
            try:
                os.rmdir(d)
            except OSError:
                pass
    return []


PROBES = (probe_process, probe_rootfs, probe_rlimits, probe_user_namespace, probe_mounts, probe_sysctl,
          probe_lsm, probe_time_namespace, probe_net_devices, probe_hooks, probe_executable,
          probe_seccomp, probe_cgroups)
