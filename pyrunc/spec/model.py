"""A typed model of the runtime-spec ``config.json`` (dataclasses), and a builder for edits.

``Config.from_dict(d).to_dict() == d`` for any config, valid or not, byte for byte once
serialised:

* every object keeps the keys this model does not know (newer spec fields, other platforms'
  sections such as ``windows``, vendor extensions) in its ``extra`` dict and emits them again;
* the key order of the source is recorded per object and reproduced; keys added later come
  after them, known ones in runtime-spec (Go struct) order, then new ``extra`` keys;
* ``None`` means "absent": an explicit ``null`` in the source is remembered and re-emitted
  while the attribute stays ``None``;
* a value of an unexpected JSON type (an object where a list belongs, ...) is kept as it was,
  untyped, so that validation, not the model, reports it.

Attributes are the spec's names in snake_case (``no_new_privileges`` for ``noNewPrivileges``,
``class_`` for ``class``); objects are the dataclasses below, lists and maps of objects are
lists and dicts of them, everything else plain JSON values. A dict may stand in for any
object when assigning (``to_dict`` accepts both).

:class:`Builder` makes the common edits (the role runtime-tools' ``generate`` plays for Go)::

    cfg = (Builder.default().set_args("sh", "-c", "echo hi").set_env("A", "1")
           .add_bind("/data", "/data", readonly=True).set_memory(limit=64 << 20)
           .drop_capability("CAP_KILL").build())

This module is not on the command line's hot path and must not be imported from
``pyrunc.cli``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields

__all__ = [
    "SpecObject", "Config", "Process", "User", "ConsoleSize", "Capabilities", "Rlimit",
    "Scheduler", "IOPriority", "ExecCPUAffinity", "Root", "Mount", "IDMapping", "Hook",
    "Hooks", "Linux", "Namespace", "Device", "DeviceCgroup", "Resources", "Memory", "CPU",
    "Pids", "BlockIO", "WeightDevice", "ThrottleDevice", "HugepageLimit", "Network",
    "InterfacePriority", "Seccomp", "Syscall", "SeccompArg", "IntelRdt", "Personality",
    "TimeOffset", "Builder", "CAPABILITY_SETS", "HOOK_KINDS",
]

CAPABILITY_SETS = ("bounding", "effective", "inheritable", "permitted", "ambient")
HOOK_KINDS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart",
              "poststop")


def _f(key, kind=None):
    """A spec member: JSON name ``key``; ``kind`` is a SpecObject class, ("list", cls),
    ("map", cls) or None for a plain JSON value."""
    return field(default=None, metadata={"json": key, "kind": kind})


def _plain(v):
    """A deep copy of ``v`` as plain JSON values (SpecObjects become dicts)."""
    if isinstance(v, SpecObject):
        return v.to_dict()
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def _decode(kind, v):
    if kind is None:
        return _plain(v)
    if isinstance(kind, tuple):
        how, cls = kind
        if how == "list" and isinstance(v, list) and all(isinstance(x, dict) for x in v):
            return [cls.from_dict(x) for x in v]
        if how == "map" and isinstance(v, dict) and all(isinstance(x, dict)
                                                        for x in v.values()):
            return {k: cls.from_dict(x) for k, x in v.items()}
        return _plain(v)
    if isinstance(v, dict):
        return kind.from_dict(v)
    return _plain(v)


class SpecObject:
    """Base of the model's dataclasses: lossless ``from_dict``/``to_dict``."""

    __slots__ = ()

    @classmethod
    def _members(cls):
        m = cls.__dict__.get("_members_cache")
        if m is None:
            m = tuple((f.name, f.metadata["json"], f.metadata["kind"])
                      for f in fields(cls) if "json" in f.metadata)
            cls._members_cache = m
            cls._by_key_cache = {key: (attr, kind) for attr, key, kind in m}
        return m

    @classmethod
    def from_dict(cls, d):
        """The object for the JSON object ``d`` (copied; ``d`` is not kept)."""
        if isinstance(d, SpecObject):
            d = d.to_dict()
        if not isinstance(d, dict):
            raise TypeError("%s.from_dict: expected a JSON object, got %s"
                            % (cls.__name__, type(d).__name__))
        cls._members()
        by_key = cls._by_key_cache
        kw, extra, nulls = {}, {}, []
        for k, v in d.items():
            member = by_key.get(k)
            if member is None:
                extra[k] = _plain(v)
            elif v is None:
                nulls.append(k)
            else:
                kw[member[0]] = _decode(member[1], v)
        obj = cls(**kw)
        obj.extra = extra
        obj._order = list(d)
        obj._nulls = frozenset(nulls)
        return obj

    def to_dict(self):
        """A new JSON object: the source's key order first, then new keys (see module doc)."""
        vals = {}
        for attr, key, _ in self._members():
            v = getattr(self, attr)
            if v is None:
                if key in self._nulls:
                    vals[key] = None
                continue
            vals[key] = _plain(v)
        for k, v in self.extra.items():
            if k not in vals:
                vals[k] = _plain(v)
        out = {}
        for k in self._order:
            if k in vals:
                out[k] = vals.pop(k)
        out.update(vals)
        return out

    def copy(self):
        """A deep copy (key order and unknown members included)."""
        return type(self).from_dict(self.to_dict())


def _spec(cls):
    """@dataclass plus the bookkeeping members every SpecObject has."""
    cls.__annotations__["extra"] = "dict"
    cls.extra = field(default_factory=dict, repr=False)
    cls.__annotations__["_order"] = "list"
    cls._order = field(default_factory=list, init=False, repr=False, compare=False)
    cls.__annotations__["_nulls"] = "frozenset"
    cls._nulls = field(default=frozenset(), init=False, repr=False, compare=False)
    return dataclass(cls)


# -- process -----------------------------------------------------------------------------------

@_spec
class ConsoleSize(SpecObject):
    height: int = _f("height")
    width: int = _f("width")


@_spec
class User(SpecObject):
    uid: int = _f("uid")
    gid: int = _f("gid")
    umask: int = _f("umask")
    additional_gids: list = _f("additionalGids")
    username: str = _f("username")


@_spec
class Capabilities(SpecObject):
    bounding: list = _f("bounding")
    effective: list = _f("effective")
    inheritable: list = _f("inheritable")
    permitted: list = _f("permitted")
    ambient: list = _f("ambient")


@_spec
class Rlimit(SpecObject):
    type: str = _f("type")
    hard: int = _f("hard")
    soft: int = _f("soft")


@_spec
class Scheduler(SpecObject):
    policy: str = _f("policy")
    nice: int = _f("nice")
    priority: int = _f("priority")
    flags: list = _f("flags")
    runtime: int = _f("runtime")
    deadline: int = _f("deadline")
    period: int = _f("period")


@_spec
class IOPriority(SpecObject):
    class_: str = _f("class")
    priority: int = _f("priority")


@_spec
class ExecCPUAffinity(SpecObject):
    initial: str = _f("initial")
    final: str = _f("final")


@_spec
class Process(SpecObject):
    terminal: bool = _f("terminal")
    console_size: ConsoleSize = _f("consoleSize", ConsoleSize)
    user: User = _f("user", User)
    args: list = _f("args")
    command_line: str = _f("commandLine")
    env: list = _f("env")
    cwd: str = _f("cwd")
    capabilities: Capabilities = _f("capabilities", Capabilities)
    rlimits: list[Rlimit] = _f("rlimits", ("list", Rlimit))
    no_new_privileges: bool = _f("noNewPrivileges")
    apparmor_profile: str = _f("apparmorProfile")
    oom_score_adj: int = _f("oomScoreAdj")
    scheduler: Scheduler = _f("scheduler", Scheduler)
    selinux_label: str = _f("selinuxLabel")
    io_priority: IOPriority = _f("ioPriority", IOPriority)
    exec_cpu_affinity: ExecCPUAffinity = _f("execCPUAffinity", ExecCPUAffinity)


# -- root, mounts, hooks -----------------------------------------------------------------------

@_spec
class Root(SpecObject):
    path: str = _f("path")
    readonly: bool = _f("readonly")


@_spec
class IDMapping(SpecObject):
    container_id: int = _f("containerID")
    host_id: int = _f("hostID")
    size: int = _f("size")


@_spec
class Mount(SpecObject):
    destination: str = _f("destination")
    type: str = _f("type")
    source: str = _f("source")
    options: list = _f("options")
    uid_mappings: list[IDMapping] = _f("uidMappings", ("list", IDMapping))
    gid_mappings: list[IDMapping] = _f("gidMappings", ("list", IDMapping))


@_spec
class Hook(SpecObject):
    path: str = _f("path")
    args: list = _f("args")
    env: list = _f("env")
    timeout: int = _f("timeout")


@_spec
class Hooks(SpecObject):
    prestart: list[Hook] = _f("prestart", ("list", Hook))
    create_runtime: list[Hook] = _f("createRuntime", ("list", Hook))
    create_container: list[Hook] = _f("createContainer", ("list", Hook))
    start_container: list[Hook] = _f("startContainer", ("list", Hook))
    poststart: list[Hook] = _f("poststart", ("list", Hook))
    poststop: list[Hook] = _f("poststop", ("list", Hook))


# -- linux ---------------------------------------------------------------------------------------

@_spec
class Namespace(SpecObject):
    type: str = _f("type")
    path: str = _f("path")


@_spec
class Device(SpecObject):
    path: str = _f("path")
    type: str = _f("type")
    major: int = _f("major")
    minor: int = _f("minor")
    file_mode: int = _f("fileMode")
    uid: int = _f("uid")
    gid: int = _f("gid")


@_spec
class DeviceCgroup(SpecObject):
    allow: bool = _f("allow")
    type: str = _f("type")
    major: int = _f("major")
    minor: int = _f("minor")
    access: str = _f("access")


@_spec
class Memory(SpecObject):
    limit: int = _f("limit")
    reservation: int = _f("reservation")
    swap: int = _f("swap")
    kernel: int = _f("kernel")
    kernel_tcp: int = _f("kernelTCP")
    swappiness: int = _f("swappiness")
    disable_oom_killer: bool = _f("disableOOMKiller")
    use_hierarchy: bool = _f("useHierarchy")
    check_before_update: bool = _f("checkBeforeUpdate")


@_spec
class CPU(SpecObject):
    shares: int = _f("shares")
    quota: int = _f("quota")
    burst: int = _f("burst")
    period: int = _f("period")
    realtime_runtime: int = _f("realtimeRuntime")
    realtime_period: int = _f("realtimePeriod")
    cpus: str = _f("cpus")
    mems: str = _f("mems")
    idle: int = _f("idle")


@_spec
class Pids(SpecObject):
    limit: int = _f("limit")


@_spec
class WeightDevice(SpecObject):
    major: int = _f("major")
    minor: int = _f("minor")
    weight: int = _f("weight")
    leaf_weight: int = _f("leafWeight")


@_spec
class ThrottleDevice(SpecObject):
    major: int = _f("major")
    minor: int = _f("minor")
    rate: int = _f("rate")


@_spec
class BlockIO(SpecObject):
    weight: int = _f("weight")
    leaf_weight: int = _f("leafWeight")
    weight_device: list[WeightDevice] = _f("weightDevice", ("list", WeightDevice))
    throttle_read_bps_device: list[ThrottleDevice] = _f(
        "throttleReadBpsDevice", ("list", ThrottleDevice))
    throttle_write_bps_device: list[ThrottleDevice] = _f(
        "throttleWriteBpsDevice", ("list", ThrottleDevice))
    throttle_read_iops_device: list[ThrottleDevice] = _f(
        "throttleReadIOPSDevice", ("list", ThrottleDevice))
    throttle_write_iops_device: list[ThrottleDevice] = _f(
        "throttleWriteIOPSDevice", ("list", ThrottleDevice))


@_spec
class HugepageLimit(SpecObject):
    page_size: str = _f("pageSize")
    limit: int = _f("limit")


@_spec
class InterfacePriority(SpecObject):
    name: str = _f("name")
    priority: int = _f("priority")


@_spec
class Network(SpecObject):
    class_id: int = _f("classID")
    priorities: list[InterfacePriority] = _f("priorities", ("list", InterfacePriority))


@_spec
class Resources(SpecObject):
    devices: list[DeviceCgroup] = _f("devices", ("list", DeviceCgroup))
    memory: Memory = _f("memory", Memory)
    cpu: CPU = _f("cpu", CPU)
    pids: Pids = _f("pids", Pids)
    block_io: BlockIO = _f("blockIO", BlockIO)
    hugepage_limits: list[HugepageLimit] = _f("hugepageLimits", ("list", HugepageLimit))
    network: Network = _f("network", Network)
    rdma: dict = _f("rdma")
    unified: dict = _f("unified")


@_spec
class SeccompArg(SpecObject):
    index: int = _f("index")
    value: int = _f("value")
    value_two: int = _f("valueTwo")
    op: str = _f("op")


@_spec
class Syscall(SpecObject):
    names: list = _f("names")
    action: str = _f("action")
    errno_ret: int = _f("errnoRet")
    args: list[SeccompArg] = _f("args", ("list", SeccompArg))


@_spec
class Seccomp(SpecObject):
    default_action: str = _f("defaultAction")
    default_errno_ret: int = _f("defaultErrnoRet")
    architectures: list = _f("architectures")
    flags: list = _f("flags")
    listener_path: str = _f("listenerPath")
    listener_metadata: str = _f("listenerMetadata")
    syscalls: list[Syscall] = _f("syscalls", ("list", Syscall))

    @classmethod
    def load(cls, path):
        """A LinuxSeccomp object from a JSON file (the ``linux.seccomp`` member's form)."""
        from pyrunc import jsonio
        with open(path, "rb") as f:
            return cls.from_dict(jsonio.loads(f.read()))


@_spec
class IntelRdt(SpecObject):
    clos_id: str = _f("closID")
    l3_cache_schema: str = _f("l3CacheSchema")
    mem_bw_schema: str = _f("memBwSchema")
    enable_cmt: bool = _f("enableCMT")
    enable_mbm: bool = _f("enableMBM")


@_spec
class Personality(SpecObject):
    domain: str = _f("domain")
    flags: list = _f("flags")


@_spec
class TimeOffset(SpecObject):
    secs: int = _f("secs")
    nanosecs: int = _f("nanosecs")


@_spec
class Linux(SpecObject):
    uid_mappings: list[IDMapping] = _f("uidMappings", ("list", IDMapping))
    gid_mappings: list[IDMapping] = _f("gidMappings", ("list", IDMapping))
    sysctl: dict = _f("sysctl")
    resources: Resources = _f("resources", Resources)
    cgroups_path: str = _f("cgroupsPath")
    namespaces: list[Namespace] = _f("namespaces", ("list", Namespace))
    devices: list[Device] = _f("devices", ("list", Device))
    seccomp: Seccomp = _f("seccomp", Seccomp)
    rootfs_propagation: str = _f("rootfsPropagation")
    masked_paths: list = _f("maskedPaths")
    readonly_paths: list = _f("readonlyPaths")
    mount_label: str = _f("mountLabel")
    intel_rdt: IntelRdt = _f("intelRdt", IntelRdt)
    personality: Personality = _f("personality", Personality)
    time_offsets: dict[str, TimeOffset] = _f("timeOffsets", ("map", TimeOffset))
    net_devices: dict = _f("netDevices")


# -- the document --------------------------------------------------------------------------------

@_spec
class Config(SpecObject):
    oci_version: str = _f("ociVersion")
    process: Process = _f("process", Process)
    root: Root = _f("root", Root)
    hostname: str = _f("hostname")
    domainname: str = _f("domainname")
    mounts: list[Mount] = _f("mounts", ("list", Mount))
    hooks: Hooks = _f("hooks", Hooks)
    annotations: dict = _f("annotations")
    linux: Linux = _f("linux", Linux)

    @classmethod
    def default(cls, rootless=False):
        """``pyrunc spec``'s config (runc's default)."""
        from pyrunc.spec.default import default_spec
        return cls.from_dict(default_spec(rootless))

    @classmethod
    def from_json(cls, text):
        from pyrunc import jsonio
        d = jsonio.loads(text)
        if not isinstance(d, dict):
            raise ValueError("config.json: the top level must be an object")
        return cls.from_dict(d)

    @classmethod
    def load(cls, path):
        """Read ``path``: a config.json file, or a bundle directory holding one."""
        if os.path.isdir(path):
            path = os.path.join(path, "config.json")
        with open(path, "rb") as f:
            return cls.from_json(f.read())

    def to_json(self, indent=2):
        from pyrunc import jsonio
        return jsonio.dumps(self.to_dict(), indent=indent)

    def save(self, path, indent=2):
        """Write config.json at ``path`` (a file, or a bundle directory)."""
        if os.path.isdir(path):
            path = os.path.join(path, "config.json")
        from pyrunc import util
        util.write_atomic(path, self.to_json(indent) + "\n", 0o644)
        return path

    def problem(self):
        """The first validation problem as (field, message), or None."""
        from pyrunc.spec.validate import config_problem
        return config_problem(self.to_dict())

    def validate(self):
        """Raise :class:`pyrunc.api_errors.InvalidConfig` (a ConfigError naming the field)
        for the first problem, as pyrunc create would; returns self."""
        p = self.problem()
        if p is not None:
            from pyrunc.api_errors import InvalidConfig
            raise InvalidConfig(p[0], p[1])
        return self

    def builder(self):
        """A Builder editing this config in place."""
        return Builder(self)


# -- the builder ----------------------------------------------------------------------------------

def _cap_name(name):
    n = name.strip().upper()
    return n if n.startswith("CAP_") else "CAP_" + n


class Builder:
    """Chainable edits of a :class:`Config` (``runtime-tools generate`` for Python).

    Every method returns the builder; :meth:`build` validates and returns the config.
    ``Builder()`` starts from the default spec; ``Builder(config)`` edits ``config`` in place
    (a dict is converted first).
    """

    def __init__(self, config=None):
        if config is None:
            config = Config.default()
        elif not isinstance(config, Config):
            config = Config.from_dict(config)
        self.config = config

    @classmethod
    def default(cls, rootless=False):
        return cls(Config.default(rootless))

    def build(self, validate=True):
        """The config; with ``validate``, InvalidConfig names the first problem."""
        if validate:
            self.config.validate()
        return self.config

    def to_dict(self):
        return self.config.to_dict()

    # -- parts, created on demand -------------------------------------------------------------
    def _process(self):
        c = self.config
        if not isinstance(c.process, Process):
            c.process = Process.from_dict(c.process) if c.process is not None else \
                Process(cwd="/", args=["sh"])
        return c.process

    def _linux(self):
        c = self.config
        if not isinstance(c.linux, Linux):
            c.linux = Linux.from_dict(c.linux) if c.linux is not None else Linux()
        return c.linux

    def _resources(self):
        lx = self._linux()
        if not isinstance(lx.resources, Resources):
            lx.resources = Resources.from_dict(lx.resources) if lx.resources is not None \
                else Resources()
        return lx.resources

    @staticmethod
    def _sub(obj, attr, cls):
        v = getattr(obj, attr)
        if not isinstance(v, cls):
            v = cls.from_dict(v) if v is not None else cls()
            setattr(obj, attr, v)
        return v

    # -- process ------------------------------------------------------------------------------
    def set_args(self, *args):
        """The command (``set_args("sh", "-c", "...")`` or ``set_args(["sh", ...])``)."""
        if len(args) == 1 and isinstance(args[0], (list, tuple)):
            args = args[0]
        self._process().args = [str(a) for a in args]
        return self

    def set_env(self, name, value):
        """Set ``name=value``, replacing an existing entry of that name in place."""
        p = self._process()
        env = list(p.env or [])
        entry = "%s=%s" % (name, value)
        for i, e in enumerate(env):
            if e.partition("=")[0] == name:
                env[i] = entry
                break
        else:
            env.append(entry)
        p.env = env
        return self

    def unset_env(self, name):
        p = self._process()
        p.env = [e for e in (p.env or []) if e.partition("=")[0] != name]
        return self

    def clear_env(self):
        self._process().env = []
        return self

    def set_cwd(self, cwd):
        self._process().cwd = cwd
        return self

    def set_user(self, uid, gid=None, additional_gids=None, umask=None, username=None):
        u = self._sub(self._process(), "user", User)
        u.uid = uid
        u.gid = gid if gid is not None else (u.gid if u.gid is not None else 0)
        if additional_gids is not None:
            u.additional_gids = list(additional_gids) or None
        if umask is not None:
            u.umask = umask
        if username is not None:
            u.username = username
        return self

    def set_terminal(self, terminal=True):
        self._process().terminal = bool(terminal)
        return self

    def set_no_new_privileges(self, flag=True):
        self._process().no_new_privileges = bool(flag)
        return self

    def set_rlimit(self, type, soft, hard=None):
        """Set (or add) rlimit ``type`` (``"RLIMIT_NOFILE"`` or ``"nofile"``)."""
        t = type.upper()
        if not t.startswith("RLIMIT_"):
            t = "RLIMIT_" + t
        p = self._process()
        hard = soft if hard is None else hard
        rl = [r if isinstance(r, Rlimit) else Rlimit.from_dict(r) for r in (p.rlimits or [])]
        for r in rl:
            if r.type == t:
                r.soft, r.hard = soft, hard
                break
        else:
            rl.append(Rlimit(type=t, hard=hard, soft=soft))
        p.rlimits = rl
        return self

    # -- capabilities -----------------------------------------------------------------------
    def add_capability(self, name, sets=("bounding", "effective", "permitted")):
        """Add ``name`` (``"CAP_NET_ADMIN"`` or ``"net_admin"``) to ``sets``."""
        cap = _cap_name(name)
        from pyrunc.linux.capnames import CAP_NUMBERS
        if cap not in CAP_NUMBERS:
            raise ValueError("unknown capability %s" % name)
        caps = self._sub(self._process(), "capabilities", Capabilities)
        for s in sets:
            if s not in CAPABILITY_SETS:
                raise ValueError("unknown capability set %s" % s)
            cur = list(getattr(caps, s) or [])
            if cap not in cur:
                cur.append(cap)
            setattr(caps, s, cur)
        return self

    def drop_capability(self, name, sets=CAPABILITY_SETS):
        """Remove ``name`` from ``sets`` (all five by default); sets present stay present."""
        cap = _cap_name(name)
        p = self._process()
        if p.capabilities is None:
            return self
        caps = self._sub(p, "capabilities", Capabilities)
        for s in sets:
            cur = getattr(caps, s)
            if cur is not None:
                setattr(caps, s, [c for c in cur if c != cap])
        return self

    def set_capabilities(self, names, sets=CAPABILITY_SETS[:4]):
        """Replace ``sets`` with exactly ``names`` (ambient is left alone by default)."""
        caps = self._sub(self._process(), "capabilities", Capabilities)
        names = [_cap_name(n) for n in names]
        for s in sets:
            setattr(caps, s, list(names))
        return self

    # -- root, hostname ------------------------------------------------------------------------
    def set_root(self, path, readonly=None):
        r = self._sub(self.config, "root", Root)
        r.path = path
        if readonly is not None:
            r.readonly = bool(readonly)
        return self

    def set_readonly_root(self, readonly=True):
        self._sub(self.config, "root", Root).readonly = bool(readonly)
        return self

    def set_hostname(self, hostname):
        """Set the hostname; adds a uts namespace when there is none (without one the
        hostname would be the host's, which config validation refuses)."""
        self.config.hostname = hostname
        if hostname and not self.has_namespace("uts"):
            self.add_namespace("uts")
        return self

    def set_annotation(self, key, value):
        ann = dict(self.config.annotations or {})
        ann[key] = value
        self.config.annotations = ann
        return self

    # -- mounts -----------------------------------------------------------------------------
    def _mounts(self):
        c = self.config
        c.mounts = [m if isinstance(m, Mount) else Mount.from_dict(m) for m in c.mounts or []]
        return c.mounts

    def add_mount(self, destination, type=None, source=None, options=None):
        """Add a mount; one already at ``destination`` is replaced (in its position)."""
        m = Mount(destination=destination, type=type, source=source,
                  options=list(options) if options is not None else None)
        ms = self._mounts()
        for i, old in enumerate(ms):
            if old.destination == destination:
                ms[i] = m
                break
        else:
            ms.append(m)
        return self

    def add_bind(self, source, destination, readonly=False, options=(), recursive=True):
        """Bind-mount host ``source`` at ``destination`` (rbind unless ``recursive=False``)."""
        opts = ["rbind" if recursive else "bind"] + list(options)
        if readonly and "ro" not in opts:
            opts.append("ro")
        return self.add_mount(destination, "bind", os.path.abspath(source), opts)

    def add_tmpfs(self, destination, options=("nosuid", "nodev", "mode=1777")):
        return self.add_mount(destination, "tmpfs", "tmpfs", options)

    def remove_mount(self, destination):
        self.config.mounts = [m for m in self._mounts() if m.destination != destination]
        return self

    # -- namespaces -------------------------------------------------------------------------
    def _namespaces(self):
        lx = self._linux()
        lx.namespaces = [n if isinstance(n, Namespace) else Namespace.from_dict(n)
                         for n in lx.namespaces or []]
        return lx.namespaces

    def has_namespace(self, type):
        return any(n.type == type for n in self._namespaces())

    def add_namespace(self, type, path=None):
        """Add namespace ``type`` (new, or joined at ``path``); an existing entry of the same
        type is updated in place."""
        for n in self._namespaces():
            if n.type == type:
                n.path = path
                return self
        self._linux().namespaces.append(Namespace(type=type, path=path))
        return self

    def remove_namespace(self, type):
        """Remove namespace ``type``, and what cannot exist without it: the hostname and
        domainname (uts), the id mappings (user), the time offsets (time)."""
        lx = self._linux()
        lx.namespaces = [n for n in self._namespaces() if n.type != type]
        if type == "uts":
            self.config.hostname = None
            self.config.domainname = None
        elif type == "user":
            lx.uid_mappings = lx.gid_mappings = None
        elif type == "time":
            lx.time_offsets = None
        return self

    def set_user_namespace(self, uid_host, gid_host, size=65536, container_id=0):
        """A new user namespace mapping ``container_id..+size`` to host ids from
        ``uid_host``/``gid_host``."""
        self.add_namespace("user")
        lx = self._linux()
        lx.uid_mappings = [IDMapping(container_id=container_id, host_id=uid_host, size=size)]
        lx.gid_mappings = [IDMapping(container_id=container_id, host_id=gid_host, size=size)]
        return self

    # -- resources --------------------------------------------------------------------------
    @staticmethod
    def _set(obj, **values):
        for k, v in values.items():
            if v is not None:
                setattr(obj, k, v)

    def set_memory(self, limit=None, reservation=None, swap=None, swappiness=None,
                   disable_oom_killer=None):
        """Memory limits in bytes (-1: unlimited); arguments left None are unchanged."""
        self._set(self._sub(self._resources(), "memory", Memory), limit=limit,
                  reservation=reservation, swap=swap, swappiness=swappiness,
                  disable_oom_killer=disable_oom_killer)
        return self

    def set_cpu(self, shares=None, quota=None, period=None, cpus=None, mems=None, burst=None):
        """CPU controls (``quota``/``period`` in microseconds; ``cpus``/``mems`` as cpuset
        lists such as "0-1"); arguments left None are unchanged."""
        self._set(self._sub(self._resources(), "cpu", CPU), shares=shares, quota=quota,
                  period=period, cpus=cpus, mems=mems, burst=burst)
        return self

    def set_pids(self, limit):
        self._sub(self._resources(), "pids", Pids).limit = limit
        return self

    # -- seccomp ----------------------------------------------------------------------------
    def set_seccomp(self, seccomp):
        """A Seccomp object or dict; None removes the filter."""
        if seccomp is not None and not isinstance(seccomp, Seccomp):
            seccomp = Seccomp.from_dict(seccomp)
        self._linux().seccomp = seccomp
        return self

    def seccomp_from_file(self, path):
        """Load ``linux.seccomp`` from a JSON file holding a LinuxSeccomp object, or a whole
        config.json (its ``linux.seccomp`` is taken)."""
        from pyrunc import jsonio
        with open(path, "rb") as f:
            d = jsonio.loads(f.read())
        if isinstance(d, dict) and "defaultAction" not in d and \
                isinstance((d.get("linux") or {}).get("seccomp"), dict):
            d = d["linux"]["seccomp"]
        if not isinstance(d, dict):
            raise ValueError("%s: not a JSON object" % path)
        return self.set_seccomp(Seccomp.from_dict(d))

    # -- hooks ----------------------------------------------------------------------------
    _HOOK_ATTRS = dict(zip(HOOK_KINDS, ("prestart", "create_runtime", "create_container",
                                        "start_container", "poststart", "poststop")))

    def add_hook(self, kind, path, args=None, env=None, timeout=None):
        """Append a hook to ``kind`` (one of HOOK_KINDS, e.g. "createRuntime" or
        "create_runtime"); ``args`` defaults to [path] as the spec's argv."""
        attr = self._HOOK_ATTRS.get(kind) or (kind if kind in self._HOOK_ATTRS.values()
                                              else None)
        if attr is None:
            raise ValueError("unknown hook kind %s (one of %s)" % (kind, ", ".join(HOOK_KINDS)))
        hooks = self._sub(self.config, "hooks", Hooks)
        lst = [h if isinstance(h, Hook) else Hook.from_dict(h)
               for h in getattr(hooks, attr) or []]
        lst.append(Hook(path=path, args=list(args) if args is not None else [path],
                        env=list(env) if env is not None else None, timeout=timeout))
        setattr(hooks, attr, lst)
        return self

    def clear_hooks(self, kind=None):
        if kind is None:
            self.config.hooks = None
            return self
        attr = self._HOOK_ATTRS.get(kind, kind)
        if self.config.hooks is not None:
            setattr(self._sub(self.config, "hooks", Hooks), attr, None)
        return self
