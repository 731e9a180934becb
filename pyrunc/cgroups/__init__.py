"""cgroup placement: where a container's cgroup is, on v1, v2 and hybrid hosts.

``Manager`` creates the container's cgroup in every mounted hierarchy (every v1 controller
hierarchy, named ones such as name=systemd, and the unified one on a hybrid host), moves
processes into it, lists and signals its processes, freezes it and removes it. The paths are
recorded in the container's state so later commands need no config.

Resource limits (``apply_resources``) are written by ``v1`` (and the unified map on a hybrid
host) or ``v2``; the device rules by ``devices`` (+ ``bpf`` on v2); ``stats`` reads them back in
runc's ``events --stats`` shape.
"""

from pyrunc import _os as os  # os without `import os` (see pyrunc/_os.py)
from pyrunc.errors import PyruncError
from pyrunc.testing import killpoint


def mounted_hierarchies():
    """{key: mountpoint} for every cgroup mount in this mount namespace.

    key is the v1 mount's controller list ("cpu,cpuacct", "name=systemd") or "" for cgroup2."""
    out = {}
    with open("/proc/self/mountinfo", "rb") as f:
        for line in f:
            left, _, right = line.partition(b" - ")
            fields = left.split()
            rfields = right.split()
            fstype = rfields[0]
            if fstype == b"cgroup2":
                out.setdefault("", fields[4].decode())
            elif fstype == b"cgroup":
                opts = rfields[2].decode().split(",")
                ctrls = [o for o in opts if o not in ("rw", "ro") and not o.startswith(
                    ("relatime", "noatime", "nosuid", "nodev", "noexec", "release_agent",
                     "clone_children", "xattr", "cpuset_v2_mode", "noprefix", "nosymfollow",
                     "favordynmods", "memory_recursiveprot", "nsdelegate"))]
                out.setdefault(",".join(ctrls), fields[4].decode())
    return out


def own_cgroups(pid="self"):
    """{key: path} from /proc/PID/cgroup, keys as in mounted_hierarchies()."""
    out = {}
    with open("/proc/%s/cgroup" % pid) as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            out[ctrls] = path
    return out


def resolve_path(cgroups_path, cid):
    """The container's cgroup path inside each hierarchy, from linux.cgroupsPath (cgroupfs).

    Absolute paths are used as given; relative ones go under the runtime's own cgroup (resolved
    per hierarchy in Manager); empty means <id> under the runtime's own cgroup, as in runc
    1.1 (runtime-spec lets the runtime choose)."""
    if not cgroups_path:
        return cid
    return cgroups_path


class Manager:
    def __init__(self, paths):
        # paths: {hierarchy key: absolute directory of the container's cgroup}
        self.paths = paths
        # rootless: use only the hierarchies delegated to us, skip the others (runc's
        # rootless cgroup manager does the same)
        self.tolerant = False

    @classmethod
    def for_container(cls, cgroups_path, cid, systemd=False):
        if systemd:
            from pyrunc.cgroups.systemd import SystemdManager
            return SystemdManager.for_container(cgroups_path, cid)
        inner = resolve_path(cgroups_path, cid)
        if ".." in inner.split("/"):
            raise PyruncError("linux.cgroupsPath: %r must not contain '..'" % cgroups_path)
        mine = None
        paths = {}
        mounts = mounted_hierarchies()
        for key, mnt in mounts.items():
            if inner.startswith("/"):
                rel = inner
            else:
                if mine is None:
                    mine = own_cgroups()
                base = _own_path(mine, key)
                if key == "" and list(mounts) != [""]:
                    # hybrid host: runc 1.1 joins a relative path to the unified mountpoint
                    # itself (its v1 controllers use our own cgroup); do the same
                    base = "/"
                elif key == "" and list(mounts) == [""]:
                    # pure v2 (runc's fs2): our own cgroup most likely has processes, so its
                    # children can't get controllers ("no internal processes"); use its parent
                    base = os.path.dirname(base.rstrip("/")) or "/"
                rel = os.path.join(base, inner)
            paths[key] = os.path.normpath(mnt + "/" + rel.lstrip("/"))
        return cls(paths)

    @property
    def unified_only(self):
        """A pure cgroup v2 host: the unified hierarchy is the only one."""
        return list(self.paths) == [""]

    def controller_dirs(self):
        """{v1 controller name: directory} (a co-mounted "cpu,cpuacct" gives both names)."""
        out = {}
        for key, path in self.paths.items():
            for ctrl in key.split(","):
                if ctrl and not ctrl.startswith("name="):
                    out.setdefault(ctrl, path)
        return out

    def create(self):
        """mkdir the cgroup in every hierarchy; returns the directories it created (for undo).
        When tolerant, a hierarchy where we may not (not delegated) is dropped instead."""
        made = []
        for key, path in list(self.paths.items()):
            try:
                if key == "" and self.unified_only:
                    made.extend(_mkdir_v2(path, _mountpoint_of(path)))
                    continue
                made.extend(_mkdir_p(path, cpuset="cpuset" in key.split(",")))
            except PermissionError:
                if not self.tolerant:
                    raise
                del self.paths[key]
        return made

    def apply_resources(self, resources, prefix="linux.resources", update=False):
        """Write linux.resources (ResourceError names the field the host can't apply)."""
        from pyrunc.cgroups.common import Writer
        w = Writer(prefix)
        if self.unified_only:
            from pyrunc.cgroups import v2
            v2.apply(self.paths[""], resources or {}, w, update=update)
            return
        from pyrunc.cgroups import v1
        v1.apply(self.controller_dirs(), resources or {}, w, update=update,
                 unified_dir=self.paths.get(""), unified_mounted="" in self.paths)

    def stats(self):
        """runc's types.Stats as a dict (``pyrunc events --stats``)."""
        from pyrunc.cgroups import stats
        if self.unified_only:
            return stats.v2_stats(self.paths[""])
        return stats.v1_stats(self.controller_dirs())

    def memory_dir(self):
        if self.unified_only:
            return self.paths[""]
        return self.controller_dirs().get("memory")

    def add(self, pid):
        if not pid or pid < 0:  # "0" in cgroup.procs would move the writer, i.e. pyrunc
            raise PyruncError("joining cgroup: no process id (internal error)")
        for key, path in list(self.paths.items()):
            try:
                with open(os.path.join(path, "cgroup.procs"), "w") as f:
                    f.write(str(pid))
            except PermissionError:
                if not self.tolerant:
                    raise PyruncError("joining cgroup %s: Permission denied" % path) from None
                # e.g. cgroup v2 wants write access to the common ancestor too: not delegated
                del self.paths[key]
                try:
                    os.rmdir(path)
                except OSError:
                    pass
            except OSError as e:
                raise PyruncError("joining cgroup %s: %s" % (path, e.strerror)) from None

    def _procs_file(self):
        for key in ("pids", "freezer", ""):
            if key in self.paths:
                return os.path.join(self.paths[key], "cgroup.procs")
        for path in self.paths.values():
            return os.path.join(path, "cgroup.procs")
        return None

    def pids(self):
        """Host pids of every process in the cgroup (recursively), in ascending order."""
        base = None
        for key in ("pids", "freezer", "", "memory"):
            if key in self.paths:
                base = self.paths[key]
                break
        if base is None:
            return []
        out = set()
        for dirpath in _walk_dirs(base):
            try:
                with open(os.path.join(dirpath, "cgroup.procs")) as f:
                    out.update(int(x) for x in f.read().split())
            except FileNotFoundError:
                pass
        return sorted(out)

    def freezer_file(self):
        for key, path in self.paths.items():
            if "freezer" in key.split(","):
                return os.path.join(path, "freezer.state")
        if "" in self.paths and os.path.exists(os.path.join(self.paths[""], "cgroup.freeze")):
            return os.path.join(self.paths[""], "cgroup.freeze")
        return None

    def freeze(self, frozen):
        f = self.freezer_file()
        if f is None:
            raise PyruncError("cannot %s: no freezer cgroup" % ("pause" if frozen else "resume"))
        if f.endswith("cgroup.freeze"):
            _write(f, "1" if frozen else "0")
            if frozen:
                _wait_v2_frozen(os.path.dirname(f))
        else:
            _write(f, "FROZEN" if frozen else "THAWED")
            if frozen:
                # FREEZING until every task stopped; wait so callers see a settled state
                import time
                for _ in range(1000):
                    with open(f) as fh:
                        if fh.read().strip() == "FROZEN":
                            break
                    time.sleep(0.001)

    def destroy(self):
        """rmdir the container's cgroups (children first); EBUSY retried briefly."""
        import time
        for path in self.paths.values():
            for _ in range(200):
                try:
                    _rmtree_cgroup(path)
                    break
                except FileNotFoundError:
                    break
                except OSError as e:
                    if e.errno != 16:  # EBUSY: tasks still exiting
                        raise
                    time.sleep(0.005)


def _walk_dirs(top):
    """``top`` and every directory below it, as os.walk finds them (os.walk is not in
    pyrunc._os: `delete` would import os for it)."""
    stack = [top]
    while stack:
        d = stack.pop()
        try:
            with os.scandir(d) as it:
                subs = [e.path for e in it if e.is_dir(follow_symlinks=False)]
        except OSError:
            continue
        yield d
        stack.extend(reversed(subs))


def _wait_v2_frozen(d):
    import time
    for _ in range(1000):
        with open(os.path.join(d, "cgroup.events")) as fh:
            for line in fh:
                if line.startswith("frozen ") and line.split()[1] == "1":
                    return
        time.sleep(0.002)


def _mountpoint_of(path):
    for key, mnt in mounted_hierarchies().items():
        if key == "" and (path + "/").startswith(mnt.rstrip("/") + "/"):
            return mnt
    return "/sys/fs/cgroup"


def _mkdir_v2(path, mnt):
    """mkdir -p under a cgroup2 mount, enabling every available controller in each ancestor's
    cgroup.subtree_control on the way (as runc's fs2 does), so the leaf gets them all."""
    made = []
    rel = os.path.relpath(path, mnt)
    cur = mnt
    parts = [] if rel == "." else rel.split("/")
    for part in parts:
        _enable_controllers(cur)
        cur = os.path.join(cur, part)
        try:
            os.mkdir(cur, 0o755)
            made.append(cur)
        except FileExistsError:
            pass
    return made


def _enable_controllers(d):
    try:
        with open(os.path.join(d, "cgroup.controllers")) as f:
            avail = f.read().split()
        with open(os.path.join(d, "cgroup.subtree_control")) as f:
            have = set(f.read().split())
    except OSError:
        return
    want = [c for c in avail if c not in have]
    if not want:
        return
    try:
        _write(os.path.join(d, "cgroup.subtree_control"), " ".join("+" + c for c in want))
    except OSError:
        for c in want:  # one by one: some can be refused (e.g. a threaded subtree)
            try:
                _write(os.path.join(d, "cgroup.subtree_control"), "+" + c)
            except OSError:
                pass


def _own_path(mine, key):
    return mine.get(key, "/")


def _write(path, value):
    with open(path, "w") as f:
        f.write(value)


def _mkdir_p(path, cpuset=False):
    made = []
    parent = os.path.dirname(path)
    if not os.path.isdir(parent):
        made.extend(_mkdir_p(parent, cpuset))
    try:
        os.mkdir(path, 0o755)
        made.append(path)
    except FileExistsError:
        if not cpuset:
            return made
    if cpuset:
        killpoint("cgroup:cpuset-made")
        _fill_cpuset(path)
    return made


def _fill_cpuset(path):
    """A new v1 cpuset cgroup starts empty and refuses tasks: give it its parent's sets. The
    parent too may still be empty: a concurrent create made it and has not filled it yet
    (two first containers under a new parent: the second got "No space left on device")."""
    parent = os.path.dirname(path)
    for name in ("cpuset.cpus", "cpuset.mems"):
        with open(os.path.join(path, name)) as f:
            if f.read().strip():
                continue
        with open(os.path.join(parent, name)) as f:
            val = f.read().strip()
        if not val and os.path.exists(os.path.join(os.path.dirname(parent), name)):
            _fill_cpuset(parent)
            with open(os.path.join(parent, name)) as f:
                val = f.read().strip()
        _write(os.path.join(path, name), val)


def _rmtree_cgroup(path):
    for entry in os.scandir(path):
        if entry.is_dir(follow_symlinks=False):
            _rmtree_cgroup(entry.path)
    os.rmdir(path)
