"""Validation of a bundle's config.json (and of a state document) for Linux.

:func:`validate_config` runs the JSON schema (``schema/config-schema.json``, compiled ahead of
time into :mod:`pyrunc.spec._schema_gen`, which :mod:`pyrunc.spec.schema` interprets) and then
the semantic checks below, which enforce runtime-spec 1.2 requirements that a schema cannot
express, plus a few rules where runc 1.1/1.2 refuses a config (marked "runc").  The first
problem found is raised as ``ConfigError("config.json: <path>: <what>")``.

Each check is a small function ``check(config) -> None | (path, message)``; its docstring
quotes the sentence it enforces.  The schema has already run, so a check may rely on the types
and required members the schema guarantees.  Checks that only produce warnings (things the
spec says to log, not to refuse) take a ``warn`` callable instead.

Nothing here touches the filesystem or the kernel: checks that depend on the host (does the
rootfs exist, is a netns path the host's, is SELinux enabled) belong to ``create``.
"""

from pyrunc.errors import ConfigError
from pyrunc.linux.capnames import CAP_NUMBERS
from pyrunc.spec import _schema_gen

__all__ = ["validate_config", "validate_state", "config_problem", "config_warnings"]


def _path(*segments):
    # (error paths only: _schema_base is not imported for a valid config)
    from pyrunc.spec._schema_base import format_path
    return format_path(segments)


def _linux(config):
    return config.get("linux") or {}


def _namespaces(config):
    """``{type: entry}`` of linux.namespaces (the first entry of a type wins)."""
    out = {}
    for ns in _linux(config).get("namespaces") or ():
        out.setdefault(ns["type"], ns)
    return out


# --------------------------------------------------------------------------------------------
# root, process


def check_root(config):
    """config.md Root: "On all other platforms [than Windows], this field is REQUIRED."
    (``path`` being REQUIRED inside ``root`` is enforced by the schema.)"""
    if "root" not in config:
        return "root", "is required on Linux"
    return None


def check_process_args(config):
    """config.md Process: ``args`` ... "at least one entry is REQUIRED (non-Windows)"."""
    process = config.get("process")
    if process is None:
        return None
    if "args" not in process:
        return "process.args", "is required on Linux"
    if not process["args"]:
        return "process.args", "must contain at least one entry"
    return None


def check_process_cwd(config):
    """config.md Process: ``cwd`` ... "This value MUST be an absolute path"."""
    process = config.get("process")
    if process is not None and not process["cwd"].startswith("/"):
        return "process.cwd", "%s is not an absolute path" % _show(process["cwd"])
    return None


def check_process_env(config):
    """config.md Process: ``env`` has the semantics of environ (``NAME=value`` entries).
    runc refuses an entry without '=' or with an empty name, and strings cannot carry NUL."""
    process = config.get("process") or {}
    for i, entry in enumerate(process.get("env") or ()):
        name, sep, _ = entry.partition("=")
        if not sep:
            return _path("process", "env", i), "%s is not of the form NAME=value" % _show(entry)
        if not name:
            return _path("process", "env", i), "%s has an empty variable name" % _show(entry)
        if "\0" in entry:
            return _path("process", "env", i), "contains a NUL byte"
    return None


def check_rlimits(config):
    """config.md POSIX process: "If rlimits contains duplicated entries with same type, the
    runtime MUST generate an error."  Also a ``soft`` above ``hard`` cannot be set
    (setrlimit(2) fails with EINVAL), so it is refused here like runc does at create."""
    process = config.get("process") or {}
    seen = {}
    for i, rl in enumerate(process.get("rlimits") or ()):
        kind = rl["type"]
        if kind in seen:
            return (_path("process", "rlimits", i, "type"),
                    "duplicate rlimit %s (also process.rlimits[%d])" % (kind, seen[kind]))
        seen[kind] = i
        if rl["soft"] > rl["hard"]:
            return (_path("process", "rlimits", i),
                    "soft limit %d is greater than hard limit %d" % (rl["soft"], rl["hard"]))
    return None


def check_scheduler(config):
    """config.md Linux Process ``scheduler`` (values per sched_setattr(2), as runc 1.2 checks):
    ``nice`` is -20..19 for SCHED_OTHER/SCHED_BATCH; ``priority`` only applies to SCHED_FIFO and
    SCHED_RR; ``runtime``/``deadline``/``period`` only to SCHED_DEADLINE."""
    sched = (config.get("process") or {}).get("scheduler")
    if sched is None:
        return None
    policy = sched["policy"]
    if policy in ("SCHED_OTHER", "SCHED_BATCH") and not -20 <= sched.get("nice", 0) <= 19:
        return "process.scheduler.nice", "%d is out of range -20..19 for %s" % (
            sched["nice"], policy)
    if sched.get("priority", 0) != 0 and policy not in ("SCHED_FIFO", "SCHED_RR"):
        return "process.scheduler.priority", "can only be set for SCHED_FIFO or SCHED_RR"
    for field in ("runtime", "deadline", "period"):
        if sched.get(field, 0) != 0 and policy != "SCHED_DEADLINE":
            return "process.scheduler." + field, "can only be set for SCHED_DEADLINE"
    return None


def warn_capabilities(config, warn):
    """config.md Linux Process ``capabilities``: "Any value which cannot be mapped to a relevant
    kernel interface ... MUST be logged as a warning by the runtime.  Runtimes SHOULD NOT
    fail ..."  (runc: "ignoring unknown or unavailable capabilities")."""
    caps = (config.get("process") or {}).get("capabilities") or {}
    unknown = []
    for kind in ("bounding", "effective", "inheritable", "permitted", "ambient"):
        for name in caps.get(kind) or ():
            if name not in CAP_NUMBERS and name not in unknown:
                unknown.append(name)
    if unknown:
        warn("process.capabilities: ignoring unknown capabilities: " + ", ".join(unknown))


# --------------------------------------------------------------------------------------------
# hooks, mounts, annotations, hostname


_HOOK_KINDS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart",
               "poststop")


def check_hooks(config):
    """config.md Hooks: "This specification extends the IEEE standard in that path MUST be
    absolute."  (``timeout`` "MUST be greater than zero" is in the schema.)"""
    hooks = config.get("hooks") or {}
    for kind in _HOOK_KINDS:
        for i, hook in enumerate(hooks.get(kind) or ()):
            if not hook["path"].startswith("/"):
                return (_path("hooks", kind, i, "path"),
                        "%s is not an absolute path" % _show(hook["path"]))
    return None


def warn_mounts(config, warn):
    """config.md Mounts, Linux: destination "SHOULD be an absolute path ... it MAY be a
    relative path, in which case it MUST be interpreted as relative to "/".  Relative paths
    are deprecated." -- so a relative destination is a warning, not an error."""
    for i, m in enumerate(config.get("mounts") or ()):
        if not m["destination"].startswith("/"):
            warn("%s: relative mount destination %s is deprecated, using it as relative to /"
                 % (_path("mounts", i, "destination"), _show(m["destination"])))


def check_mount_idmaps(config):
    """config.md POSIX-platform Mounts: ``uidMappings`` "If specified, it MUST be specified
    along with gidMappings" (and vice versa); ``idmap``/``ridmap``: "If there are no uidMappings
    and gidMappings specified and the container isn't using user namespaces, an error MUST be
    returned." """
    userns = "user" in _namespaces(config)
    for i, m in enumerate(config.get("mounts") or ()):
        has_uid, has_gid = "uidMappings" in m, "gidMappings" in m
        if has_uid and not has_gid:
            return _path("mounts", i), "uidMappings requires gidMappings"
        if has_gid and not has_uid:
            return _path("mounts", i), "gidMappings requires uidMappings"
        opts = m.get("options") or ()
        if not has_uid and not userns and ("idmap" in opts or "ridmap" in opts):
            return (_path("mounts", i, "options"),
                    "%s needs uidMappings and gidMappings or a user namespace"
                    % ("idmap" if "idmap" in opts else "ridmap"))
    return None


def check_annotations(config):
    """config.md Annotations: "Keys MUST NOT be an empty string." """
    if "" in (config.get("annotations") or {}):
        return "annotations", "keys must not be empty"
    return None


def check_hostname(config):
    """runc: "unable to set hostname/domainname without a private UTS namespace" -- without
    one, setting it would change the host's (config.md: the container UTS namespace "may be
    the runtime UTS namespace")."""
    uts = "uts" in _namespaces(config)
    for field in ("hostname", "domainname"):
        if config.get(field) and not uts:
            return field, "cannot be set without a uts namespace in linux.namespaces"
    return None


# --------------------------------------------------------------------------------------------
# linux: namespaces and id mappings


def check_namespaces(config):
    """config-linux.md Namespaces: "If a namespaces field contains duplicated namespaces with
    same type, the runtime MUST generate an error."  ``path``: "This value MUST be an absolute
    path in the runtime mount namespace." """
    seen = {}
    for i, ns in enumerate(_linux(config).get("namespaces") or ()):
        kind = ns["type"]
        if kind in seen:
            return (_path("linux", "namespaces", i, "type"),
                    "duplicate namespace %s (also linux.namespaces[%d])" % (kind, seen[kind]))
        seen[kind] = i
        if "path" in ns and not ns["path"].startswith("/"):
            return (_path("linux", "namespaces", i, "path"),
                    "%s is not an absolute path" % _show(ns["path"]))
    return None


def check_user_namespace(config):
    """config-linux.md User namespace mappings describe "the user namespace uid/gid mappings
    from the host to the container": mappings without a user namespace are an error (runc:
    "user namespace mappings specified, but user namespace isn't enabled in the config"), and a
    new user namespace (no ``path``) needs both uidMappings and gidMappings to be usable."""
    linux = _linux(config)
    userns = _namespaces(config).get("user")
    if userns is None:
        for field in ("uidMappings", "gidMappings"):
            if linux.get(field):
                return "linux." + field, "is set but linux.namespaces has no user namespace"
        return None
    if "path" not in userns:
        for field in ("uidMappings", "gidMappings"):
            if not linux.get(field):
                return ("linux." + field,
                        "is required (non-empty) to create a new user namespace")
    return None


def check_time_namespace(config):
    """config-linux.md timeOffsets "sets the offset for Time Namespace": offsets need a new
    time namespace (runc: "time namespace offsets specified, but time namespace isn't enabled";
    "both namespace path and time offsets specified -- you may only provide one"); nanosecs
    must be below one second (time_namespaces(7))."""
    offsets = _linux(config).get("timeOffsets")
    if offsets is None:
        return None
    timens = _namespaces(config).get("time")
    if timens is None:
        return "linux.timeOffsets", "is set but linux.namespaces has no time namespace"
    if "path" in timens:
        return "linux.timeOffsets", "cannot be applied to a joined time namespace (path is set)"
    for clock, off in offsets.items():
        if off.get("nanosecs", 0) >= 1000000000:
            return (_path("linux", "timeOffsets", clock, "nanosecs"),
                    "%d is not below 1000000000" % off["nanosecs"])
    return None


# --------------------------------------------------------------------------------------------
# linux: sysctl, paths, devices


_IPC_SYSCTLS = frozenset((
    "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
    "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
))


def _sysctl_dotted(key):
    """sysctl(8): '/' may be used instead of '.'; normalise ``net/ipv4/conf/eno2.100/x`` to
    ``net.ipv4.conf.eno2/100.x`` (swap the two separators when '/' comes first)."""
    for ch in key:
        if ch == ".":
            return key
        if ch == "/":
            return key.translate({ord("."): "/", ord("/"): "."})
    return key


def check_sysctl(config):
    """config-linux.md Sysctl modifies kernel parameters "for the container": only namespaced
    ones can be (runc's rules): IPC sysctls (kernel.msg*, kernel.sem, kernel.shm*,
    fs.mqueue.*) need an ipc namespace, net.* a network namespace, kernel.domainname a uts
    namespace; kernel.hostname conflicts with ``hostname``; anything else is not namespaced.
    (Whether a netns ``path`` is the host's own is checked at create time.)"""
    sysctl = _linux(config).get("sysctl") or {}
    if not sysctl:
        return None
    ns = _namespaces(config)
    for key in sysctl:
        name = _sysctl_dotted(key)
        if name in _IPC_SYSCTLS or name.startswith("fs.mqueue."):
            if "ipc" not in ns:
                return _path("linux", "sysctl", key), \
                    "requires an ipc namespace in linux.namespaces"
        elif name.startswith("net."):
            if "network" not in ns:
                return _path("linux", "sysctl", key), \
                    "requires a network namespace in linux.namespaces"
        elif name == "kernel.domainname" and "uts" in ns:
            pass
        elif name == "kernel.hostname" and "uts" in ns:
            return _path("linux", "sysctl", key), \
                "conflicts with the hostname field; set hostname instead"
        else:
            return _path("linux", "sysctl", key), "is not in a separate kernel namespace"
    return None


def check_masked_readonly_paths(config):
    """config-linux.md Masked Paths / Readonly Paths: "The values MUST be absolute paths in the
    container namespace."  runc also refuses them without a mount namespace ("unable to
    restrict sys entries without a private MNT namespace")."""
    linux = _linux(config)
    for field in ("maskedPaths", "readonlyPaths"):
        paths = linux.get(field) or ()
        for i, p in enumerate(paths):
            if not p.startswith("/"):
                return _path("linux", field, i), "%s is not an absolute path" % _show(p)
        if paths and "mount" not in _namespaces(config):
            return "linux." + field, "requires a mount namespace in linux.namespaces"
    return None


def check_devices(config):
    """config-linux.md Devices: ``path`` is the "full path to device inside container"."""
    for i, dev in enumerate(_linux(config).get("devices") or ()):
        if not dev["path"].startswith("/"):
            return _path("linux", "devices", i, "path"), "%s is not an absolute path" % _show(
                dev["path"])
    return None


# --------------------------------------------------------------------------------------------
# linux: seccomp, resources, intelRdt


_ERRNO_ACTIONS = ("SCMP_ACT_ERRNO", "SCMP_ACT_TRACE")


def check_seccomp(config):
    """config-linux.md Seccomp: ``errnoRet``/``defaultErrnoRet``: "When the action doesn't
    support an errno, the runtime MUST print and error and fail";  ``listenerMetadata``: "This
    field MUST NOT be set if listenerPath is not set"; ``listenerPath`` is where SCMP_ACT_NOTIFY
    sends its fd, so NOTIFY needs it, and (runc) NOTIFY cannot be the default action; ``args``
    ``index`` names one of a syscall's six arguments (0..5)."""
    sc = _linux(config).get("seccomp")
    if sc is None:
        return None
    if "defaultErrnoRet" in sc and sc["defaultAction"] not in _ERRNO_ACTIONS:
        return "linux.seccomp.defaultErrnoRet", "is not supported by defaultAction %s" % (
            sc["defaultAction"])
    if "listenerMetadata" in sc and "listenerPath" not in sc:
        return "linux.seccomp.listenerMetadata", "must not be set without listenerPath"
    if sc["defaultAction"] == "SCMP_ACT_NOTIFY":
        return "linux.seccomp.defaultAction", "SCMP_ACT_NOTIFY cannot be the default action"
    for i, call in enumerate(sc.get("syscalls") or ()):
        action = call["action"]
        if "errnoRet" in call and action not in _ERRNO_ACTIONS:
            return (_path("linux", "seccomp", "syscalls", i, "errnoRet"),
                    "is not supported by action %s" % action)
        if action == "SCMP_ACT_NOTIFY" and not sc.get("listenerPath"):
            return (_path("linux", "seccomp", "syscalls", i, "action"),
                    "SCMP_ACT_NOTIFY requires linux.seccomp.listenerPath")
        for j, arg in enumerate(call.get("args") or ()):
            if arg["index"] > 5:
                return (_path("linux", "seccomp", "syscalls", i, "args", j, "index"),
                        "%d is out of range 0..5" % arg["index"])
    return None


def check_cpu(config):
    """config-linux.md CPU: ``quota`` "If specified with any (valid) positive value, it MUST be
    no smaller than burst (runtimes MAY generate an error)"."""
    cpu = (_linux(config).get("resources") or {}).get("cpu") or {}
    quota, burst = cpu.get("quota"), cpu.get("burst")
    if quota is not None and burst is not None and quota > 0 and burst > quota:
        return "linux.resources.cpu.burst", "%d is larger than quota %d" % (burst, quota)
    return None


def check_intel_rdt(config):
    """config-linux.md IntelRdt: ``memBwSchema`` "MUST NOT contain newlines"; ``closID`` names
    a sub-directory of the resctrl filesystem (runc: "invalid intelRdt.ClosID")."""
    rdt = _linux(config).get("intelRdt")
    if rdt is None:
        return None
    if "\n" in rdt.get("memBwSchema", ""):
        return "linux.intelRdt.memBwSchema", "must not contain newlines"
    clos = rdt.get("closID")
    if clos is not None and (clos in (".", "..") or "/" in clos):
        return "linux.intelRdt.closID", "%s is not a valid directory name" % _show(clos)
    return None


# Order: roughly document order, so the first problem reported is the first one a reader meets.
_CHECKS = (
    check_root,
    check_process_args,
    check_process_cwd,
    check_process_env,
    check_rlimits,
    check_scheduler,
    check_hostname,
    check_mount_idmaps,
    check_hooks,
    check_annotations,
    check_namespaces,
    check_user_namespace,
    check_time_namespace,
    check_devices,
    check_sysctl,
    check_masked_readonly_paths,
    check_seccomp,
    check_cpu,
    check_intel_rdt,
)

_WARNINGS = (
    warn_mounts,
    warn_capabilities,
)


def _show(value):
    from pyrunc.spec._schema_base import _show
    return _show(value)


def config_problem(config):
    """The first problem of ``config`` as ``(path, message)``, or None if it is valid."""
    err = _schema_gen.first_error(config, "config-schema.json")
    if err is not None:
        return err.path_str, err.message
    for check in _CHECKS:
        problem = check(config)
        if problem is not None:
            return problem
    return None


def config_warnings(config):
    """Warnings about a valid ``config`` (things the spec says to log, not to refuse)."""
    out = []
    for check in _WARNINGS:
        check(config, out.append)
    return out


def validate_config(config, warn=None):
    """Validate a parsed config.json; raise ConfigError for the first problem.

    The message is one line, ``config.json: <path>: <what>`` (just ``config.json: <what>`` for
    a problem with the document as a whole).  ``warn(message)``, when given, is called for each
    warning of a config that is otherwise valid.
    """
    problem = config_problem(config)
    if problem is not None:
        path, message = problem
        raise ConfigError("config.json: %s: %s" % (path, message) if path
                          else "config.json: " + message)
    if warn is not None:
        for check in _WARNINGS:
            check(config, warn)


def validate_state(obj):
    """Validate a state document (runtime.md State); raise ConfigError naming the first problem.

    Besides the schema: ``bundle`` "is the absolute path to the container's bundle directory".
    """
    err = _schema_gen.first_error(obj, "state-schema.json")
    if err is not None:
        raise ConfigError("state: " + str(err))
    if not obj["bundle"].startswith("/"):
        raise ConfigError("state: bundle: %s is not an absolute path" % _show(obj["bundle"]))
