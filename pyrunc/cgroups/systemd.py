"""The systemd cgroup driver (``--systemd-cgroup``), cgroup v2 only, as runc's systemd driver.

linux.cgroupsPath is "slice:prefix:name": the container gets the transient scope unit
``prefix-name.scope`` in ``slice`` (default system.slice, runc-<id>.scope), started through
systemd's D-Bus API (org.freedesktop.systemd1.Manager.StartTransientUnit, called with
busctl) with the init's pid, Delegate=yes and the resources systemd knows as unit properties
(MemoryMax, MemoryLow, MemorySwapMax, TasksMax, CPUWeight, CPUQuotaPerSecUSec, AllowedCPUs,
AllowedMemoryNodes). Everything is then also written to the scope's cgroup files (the v2
writer: conversions, io, the eBPF device filter, unified), which the delegation allows.

A scope needs a process when it is started, so the unit is started at the first ``add`` (the
init's pid, before it runs anything of the user's); ``create`` only makes the directory, which
systemd adopts. Resources given to ``apply_resources`` before the start are written right after
it (systemd resets the files of a unit it starts).
"""

import os
import shutil
import subprocess
import time

from pyrunc.cgroups import Manager, mounted_hierarchies
from pyrunc.cgroups.v2 import cpu_shares_to_weight, memory_swap_to_v2
from pyrunc.errors import PyruncError


def expand_slice(slice_):
    """runc's ExpandSlice: "a-b.slice" -> "/a.slice/a-b.slice"."""
    suffix = ".slice"
    if not slice_.endswith(suffix) or len(slice_) <= len(suffix) or "/" in slice_:
        raise PyruncError("invalid slice name: %s" % slice_)
    name = slice_[:-len(suffix)]
    if name == "-":
        return "/"
    path, prefix = "", ""
    for comp in name.split("-"):
        if not comp:
            raise PyruncError("invalid slice name: %s" % slice_)
        path += "/" + prefix + comp + suffix
        prefix += comp + "-"
    return path


def parse_cgroups_path(cgroups_path, cid):
    """(slice, unit) from "slice:prefix:name" ("" -> system.slice, runc-<id>.scope)."""
    if not cgroups_path:
        return "system.slice", "runc-%s.scope" % cid
    parts = cgroups_path.split(":")
    if len(parts) != 3:
        raise PyruncError('linux.cgroupsPath: expected cgroupsPath to be of format '
                          '"slice:prefix:name" for systemd cgroups, got %r instead'
                          % cgroups_path)
    slice_, prefix, name = parts
    slice_ = slice_ or "system.slice"
    if name.endswith(".slice"):
        unit = name
    else:
        unit = (prefix + "-" if prefix else "") + name + ".scope"
    return slice_, unit


def systemd_running():
    return os.path.isdir("/run/systemd/system")


def unit_properties(res):
    """[(name, dbus signature, value)] for the resources systemd itself understands."""
    props = []
    mem = (res or {}).get("memory") or {}
    limit = mem.get("limit") or 0
    if limit:
        props.append(("MemoryMax", "t", 2 ** 64 - 1 if limit == -1 else limit))
    if mem.get("reservation"):
        props.append(("MemoryLow", "t", mem["reservation"]))
    swap = mem.get("swap") or 0
    if swap:
        from pyrunc.cgroups.common import Writer
        sw = memory_swap_to_v2(swap, limit, Writer())
        props.append(("MemorySwapMax", "t", 2 ** 64 - 1 if sw == -1 else sw))
    pids = ((res or {}).get("pids") or {}).get("limit") or 0
    if pids:
        props.append(("TasksMax", "t", 2 ** 64 - 1 if pids < 0 else pids))
    cpu = (res or {}).get("cpu") or {}
    if cpu.get("shares"):
        props.append(("CPUWeight", "t", cpu_shares_to_weight(cpu["shares"])))
    quota, period = cpu.get("quota") or 0, cpu.get("period") or 0
    if quota > 0:
        per = period or 100000
        usec = quota * 1000000 // per
        if usec % 10000:  # systemd works in 10 ms steps: round up, as runc does
            usec = (usec // 10000 + 1) * 10000
        props.append(("CPUQuotaPerSecUSec", "t", usec))
    return props


class SystemdManager(Manager):
    def __init__(self, paths, unit=None, slice_=None, cid=None):
        super().__init__(paths)
        self.unit = unit
        self.slice = slice_
        self.cid = cid
        self.started = False
        self.pending = None

    @classmethod
    def for_container(cls, cgroups_path, cid):
        if not systemd_running():
            raise PyruncError("--systemd-cgroup: the systemd cgroup driver needs systemd "
                              "running as PID 1, and it is not on this host")
        mounts = mounted_hierarchies()
        if list(mounts) != [""]:
            raise PyruncError("--systemd-cgroup: pyrunc's systemd driver needs a pure cgroup "
                              "v2 host (this one has v1 hierarchies)")
        slice_, unit = parse_cgroups_path(cgroups_path, cid)
        base = expand_slice(slice_)
        path = os.path.normpath(mounts[""] + base + "/" + unit)
        return cls({"": path}, unit, slice_, cid)

    def create(self):
        """Make the scope's directory now (systemd adopts an existing one when the scope
        starts), so the container's cgroup mount has its source before the first add."""
        from pyrunc.cgroups import _mkdir_v2
        return _mkdir_v2(self.paths[""], mounted_hierarchies()[""])

    def freezer_file(self):
        return os.path.join(self.paths[""], "cgroup.freeze")

    def apply_resources(self, resources, prefix="linux.resources", update=False):
        if not self.started and not update:
            self.pending = (resources or {}, prefix)
            return
        super().apply_resources(resources, prefix, update)

    def add(self, pid):
        if self.started:
            return super().add(pid)
        res, prefix = self.pending or ({}, "linux.resources")
        props = [("Description", "s", "libcontainer container %s" % self.cid)]
        if self.unit.endswith(".slice"):
            props.append(("Wants", "as", [self.slice]))
        else:
            props += [("Slice", "s", self.slice), ("Delegate", "b", True)]
        props += [("PIDs", "au", [pid]), ("MemoryAccounting", "b", True),
                  ("CPUAccounting", "b", True), ("IOAccounting", "b", True),
                  ("TasksAccounting", "b", True), ("DefaultDependencies", "b", False)]
        props += unit_properties(res)
        start_transient_unit(self.unit, props)
        self.started = True
        _wait_in_cgroup(pid, self.paths[""])
        super().apply_resources(res, prefix)

    def destroy(self):
        if self.unit:
            try:
                busctl("StopUnit", "ss", self.unit, "replace")
            except PyruncError:
                pass
        super().destroy()


def busctl(method, sig, *args):
    exe = shutil.which("busctl")
    if exe is None:
        raise PyruncError("--systemd-cgroup: busctl (systemd) is needed to talk to systemd")
    argv = [exe, "call", "--quiet", "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
            "org.freedesktop.systemd1.Manager", method, sig] + [_arg(a) for a in args]
    cp = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, timeout=60)
    if cp.returncode != 0:
        raise PyruncError("systemd %s: %s" % (method, cp.stderr.decode(errors="replace")
                                              .strip() or "exit %d" % cp.returncode))
    return cp.stdout.decode()


def _arg(a):
    if isinstance(a, bool):
        return "true" if a else "false"
    return str(a)


def start_transient_unit(unit, props):
    """StartTransientUnit(name, "replace", a(sv) properties, a(sa(sv)) aux)."""
    args = [unit, "replace", len(props)]
    for name, sig, val in props:
        args += [name, sig]
        if sig.startswith("a"):
            args.append(len(val))
            args += list(val)
        else:
            args.append(val)
    args.append(0)
    try:
        busctl("StartTransientUnit", "ssa(sv)a(sa(sv))", *args)
    except PyruncError as e:
        raise PyruncError("unable to start unit %r: %s" % (unit, str(e))) from None


def _wait_in_cgroup(pid, path, timeout=30.0):
    """The start job is asynchronous: wait until systemd has moved pid into the scope."""
    want = "0::/" + os.path.relpath(path, mounted_hierarchies()[""])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open("/proc/%d/cgroup" % pid) as f:
                if f.read().strip() == want:
                    return
        except OSError:
            raise PyruncError("systemd: process %d vanished while starting its scope" % pid) \
                from None
        time.sleep(0.01)
    raise PyruncError("systemd: timed out waiting for %s to hold process %d" % (path, pid))
