"""Shared by the reliability tests: containers that can be found, and a leak check.

Every container here gets a unique id, a unique cgroup (``/<session parent>/<id>`` in every
hierarchy) and a program whose command line carries the id, so "what is left of container X"
has a precise answer in each dimension:

* state:     ``<root>/<id>`` (and nothing else under root);
* cgroups:   ``<mountpoint>/<parent>/<id>`` in every mounted hierarchy;
* processes: any process whose command line names the id (the init before its execve is a
             fork of ``pyrunc create ... <id>``; after it, the program has the id as ``$0``),
             any process in one of the container's cgroups, any process in its pid namespace;
* mounts:    host mountinfo lines under the test's directories (bundle rootfs, state root),
             compared with a snapshot taken before the container existed.
"""

import json
import os
import time
import uuid

from tests import helpers

# the program of every container: a shell whose $0 (so its /proc cmdline) is the id
LOOP = "trap 'exit 0' TERM; while :; do sleep 1; done"


def hierarchies():
    with open("/proc/self/mountinfo", "rb") as f:
        lines = f.read().decode().splitlines()
    out = []
    for line in lines:
        left, _, right = line.partition(" - ")
        if right.split()[0] in ("cgroup", "cgroup2"):
            out.append(left.split()[4])
    return sorted(set(out))


def make_cgroup_parent(parent):
    for mnt in hierarchies():
        d = os.path.join(mnt, parent.lstrip("/"))
        try:
            os.mkdir(d)
        except FileExistsError:
            pass
        if "cpuset" in os.path.basename(mnt):
            for name in ("cpuset.cpus", "cpuset.mems"):
                with open(os.path.join(mnt, name)) as f:
                    val = f.read().strip()
                with open(os.path.join(d, name), "w") as f:
                    f.write(val)


def remove_cgroup_parent(parent):
    """rmdir the parent in every hierarchy; returns the children left in it (leaks)."""
    left = []
    for mnt in hierarchies():
        d = os.path.join(mnt, parent.lstrip("/"))
        if not os.path.isdir(d):
            continue
        kids = [e.name for e in os.scandir(d) if e.is_dir()]
        left += [os.path.join(d, k) for k in kids]
        for k in kids:
            _rmdir_tree(os.path.join(d, k))
        try:
            os.rmdir(d)
        except OSError:
            pass
    return left


def _rmdir_tree(d):
    for e in os.scandir(d):
        if e.is_dir():
            _rmdir_tree(e.path)
    for _ in range(100):
        try:
            os.rmdir(d)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.01)


def mounts_under(prefixes):
    with open("/proc/self/mountinfo") as f:
        lines = f.read().splitlines()
    out = []
    for line in lines:
        mp = line.split()[4]
        if any(mp == p or mp.startswith(p.rstrip("/") + "/") for p in prefixes):
            out.append(mp)
    return sorted(out)


def _read(path, mode="r"):
    try:
        with open(path, mode) as f:
            return f.read()
    except OSError:
        return None


def pid_ns(pid):
    try:
        return os.readlink("/proc/%d/ns/pid" % pid)
    except OSError:
        return None


def _under(path, rel):
    return path == rel or path.startswith(rel + "/")


def container_processes(cid, cgroup_rel, pidns=None):
    """[(pid, why)] of every live process that belongs to container ``cid``."""
    found = []
    me = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        pid = int(name)
        if pid == me:
            continue
        stat = _read("/proc/%d/stat" % pid, "rb")
        if stat is None or stat[stat.rindex(b")") + 2:][:1] in (b"Z", b"X"):
            continue
        cmd = _read("/proc/%d/cmdline" % pid, "rb")
        if cmd is not None and cid.encode() in cmd.split(b"\0"):
            found.append((pid, "cmdline " + cmd.replace(b"\0", b" ").decode(errors="replace")))
            continue
        cg = _read("/proc/%d/cgroup" % pid)
        if cg is not None and any(_under(line.split(":", 2)[2], cgroup_rel)
                                  for line in cg.splitlines() if line.count(":") >= 2):
            found.append((pid, "cgroup"))
            continue
        if pidns is not None and pid_ns(pid) == pidns:
            found.append((pid, "pid namespace"))
    return found


class World:
    """One test's containers: a private root, a cgroup parent, bundles, and the leak check."""

    def __init__(self, rt, tmp_path, rootfs_template, cgroup_parent):
        self.rt = rt
        self.tmp = str(tmp_path)
        self.rootfs_template = rootfs_template
        self.cgroup_parent = cgroup_parent
        self.pidns = {}   # cid -> pid namespace seen while it lived
        self.mounts_before = mounts_under(self.prefixes())

    def prefixes(self):
        return [self.tmp, self.rt.root]

    def bundle(self, cid, args=None, hooks=None, namespaces=None, name=None):
        import shutil
        path = os.path.join(self.tmp, name or ("bundle-" + cid))
        os.mkdir(path)
        shutil.copytree(self.rootfs_template, os.path.join(path, "rootfs"), symlinks=True)
        cfg = helpers.default_config(args or ["sh", "-c", LOOP, cid])
        cfg["linux"]["cgroupsPath"] = self.cgroup_rel(cid)
        if hooks:
            cfg["hooks"] = hooks
        if namespaces is not None:
            cfg["linux"]["namespaces"] = namespaces
        return helpers.Bundle(path, cfg).write()

    def cgroup_rel(self, cid):
        return "%s/%s" % (self.cgroup_parent, cid)

    def cgroup_dirs(self, cid):
        rel = self.cgroup_rel(cid).lstrip("/")
        return [os.path.join(m, rel) for m in hierarchies()
                if os.path.isdir(os.path.join(m, rel))]

    def state(self, cid):
        """(json or None, the Result): a state that is neither JSON nor a one-line error fails."""
        r = self.rt.cmd("state", cid)
        if r.code == 0:
            st = json.loads(r.out)
            assert r.err == "", r
            if st.get("pid"):
                ns = pid_ns(st["pid"])
                if ns:
                    self.pidns[cid] = ns
            return st, r
        assert len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err, r
        return None, r

    def leaks(self, cid, wait=2.0):
        """What is left of ``cid`` (empty when it is all gone). Processes get ``wait``
        seconds to finish dying (SIGKILLed ones are reaped by their parent)."""
        deadline = time.monotonic() + wait
        while True:
            procs = container_processes(cid, self.cgroup_rel(cid), self.pidns.get(cid))
            if not procs or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        out = {}
        if procs:
            out["processes"] = procs
        cgs = self.cgroup_dirs(cid)
        if cgs:
            out["cgroups"] = cgs
        if os.path.lexists(os.path.join(self.rt.root, cid)):
            out["state"] = sorted(os.listdir(os.path.join(self.rt.root, cid)))
        mounts = mounts_under(self.prefixes())
        if mounts != self.mounts_before:
            out["mounts"] = sorted(set(mounts) - set(self.mounts_before))
        return out

    def wait_status(self, cid, want, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            st, _ = self.state(cid)
            status = st["status"] if st else None
            if status == want or time.monotonic() > deadline:
                return status
            time.sleep(0.02)


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


def one_line_error(r):
    assert r.code != 0, r
    assert "Traceback" not in r.err and "internal error" not in r.err, r
    assert len(r.err.strip().splitlines()) == 1, r
    return r.err.strip()
